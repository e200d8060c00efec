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
    // Builds the migrated PGlite and Postgres templates each fresh test database is copied from.
    globalSetup: ['test/support/global-setup.ts'],
  },
});
