/**
 * Bundles the compiled gateway (`<dist>/src/main.js`, tsc's output) into a few files,
 * `<dist>/bundle/main.js` and its chunks, which `npm start` loads (scripts/start.mjs). Called by
 * scripts/build.mjs on its staging directory after tsc.
 *
 * Why: loading the gateway unbundled means ~1,300 files (our modules and ~600 CommonJS files of
 * the dependencies), each resolved, read and compiled on its own: ~0.8 s of CPU per start, the
 * largest share of a cold start (bench/README.md "Cold start"). A bundle loads in about a third
 * of that. dist/src/main.js stays as it is (the tests, the bench and `npm run sim` use dist/
 * unbundled); only the command a user types runs the bundle.
 *
 * What stays outside the bundle, loaded from node_modules at run time:
 * - @electric-sql/pglite: it reads its pglite.wasm and pglite.data next to its own file.
 * - pino and pino-pretty: pino starts transports (pino-pretty on a terminal) in a worker thread
 *   by file path.
 * - class-validator: type-graphql imports it only when validation is on (it is not installed).
 * CommonJS code in the bundle reaches these (and Node's built-ins) through `require`, which an
 * ES module lacks: the banner defines one relative to the bundle.
 *
 * keepNames: type-graphql names GraphQL types after their classes, and esbuild renames a class
 * whose name another module uses too (`Payment` → `Payment2`); keepNames keeps `.name` as written.
 * Not minified: stack traces keep readable names and lines (the linked source map maps them to
 * the compiled files).
 */
import { join } from 'node:path';
import { build } from 'esbuild';

/** Bundles `<dist>/src/main.js` into `<dist>/bundle/main.js` (and its chunks). */
export async function bundleGateway(dist) {
  await build({
    entryPoints: { main: join(dist, 'src', 'main.js') },
    outdir: join(dist, 'bundle'),
    chunkNames: 'chunk-[hash]',
    bundle: true,
    // main.ts imports app.ts dynamically, after starting PGlite's worker: that import becomes a
    // chunk of its own, so the entry file (config, logger, the worker's start) is small and the
    // worker starts before the large chunk is even read.
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    keepNames: true,
    sourcemap: 'linked',
    legalComments: 'none',
    external: ['@electric-sql/pglite', 'pino', 'pino-pretty', 'class-validator'],
    banner: { js: "import { createRequire as __bundleCreateRequire } from 'node:module';\nconst require = __bundleCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}
