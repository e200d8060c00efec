import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql ships two entry files (.js and .mjs); without this alias a test can load both and
    // fail with "Cannot use GraphQLSchema from another module or realm" (see shared STACK.md).
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time. vitest's default on 2 cores is one (cores - 1), but most of a file's
    // time is waiting (HTTP round trips, child processes, leases, Postgres), so a second worker
    // fills the gaps; each file has databases of its own, so files do not see each other. Three
    // workers were tried: under outside load, startup-bound suites hit Fastify's 10 s plugin timeout.
    maxWorkers: 2,
    // Builds the migrated PGlite and Postgres templates each fresh test database is copied from.
    globalSetup: ['test/support/global-setup.ts'],
  },
});
