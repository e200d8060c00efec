#!/usr/bin/env node
/**
 * `npm start`: build.mjs's up-to-date check (and the build, when a source changed), then the
 * gateway, in this one process: a second Node start-up for dist/src/main.js would cost as much
 * as the check itself. The gateway is loaded bundled (scripts/bundle-gateway.mjs):
 * a third of the CPU of loading its ~1,300 files one by one.
 */
await import('./build.mjs');
await import('../dist/bundle/main.js');
