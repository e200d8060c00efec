/**
 * Runs once per `vitest run`, before any test file: builds the migrated databases that the tests'
 * fresh databases are copied from.
 *
 * Why: every suite opens fresh databases, and a fresh one used to cost an initdb (PGlite: seconds
 * of WebAssembly CPU per open, hundreds of opens per run) plus every migration (Postgres: about a
 * second each). The templates are made here by the same code the gateway opens databases with
 * (openDatabase: initdb, then the committed migrations), so a copy is exactly what a fresh open
 * would give; opening a copy still runs the migrator, which finds nothing left to apply.
 *
 * - PGlite: a data directory on disk (copied for tests that hand a directory to a gateway) and its
 *   dump (PGlite.dumpDataDir), which test/support/db.ts loads into each in-memory database.
 * - Postgres (TEST_DATABASE_URL set): a migrated database that each test database is created
 *   from (CREATE DATABASE … TEMPLATE), dropped at the end of the run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { migrationsFolder, openDatabase } from '../../src/db/database.js';
import { onServer, TEST_DATABASE_URL, urlFor } from './db.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated PGlite data directory: copy it, never open it in place. */
    pgliteTemplateDir: string;
    /** The same directory as a PGlite.dumpDataDir tarball, for `loadDataDir`. */
    pgliteTemplateDump: string;
    /** Name of the migrated database on the TEST_DATABASE_URL server ('' without one). */
    postgresTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = mkdtempSync(join(tmpdir(), 'vitest-templates-'));
  const dataDir = join(root, 'pgdata');
  const dump = join(root, 'pgdata.tar');
  let postgresTemplate = '';

  const teardown = async (): Promise<void> => {
    rmSync(root, { recursive: true, force: true });
    if (postgresTemplate) {
      const name = postgresTemplate;
      await onServer((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }
  };

  const pglite = async (): Promise<void> => {
    // In memory (an initdb on disk writes and syncs every file: several times slower), with the
    // migrator openDatabase runs; then the same cluster written out as a directory.
    const migrated = await PGlite.create();
    let tarball: Blob;
    try {
      await migrate(drizzle(migrated), { migrationsFolder: migrationsFolder() });
      tarball = await migrated.dumpDataDir('none');
    } finally {
      await migrated.close();
    }
    writeFileSync(dump, Buffer.from(await tarball.arrayBuffer()));
    const onDisk = await PGlite.create({ dataDir, loadDataDir: tarball });
    await onDisk.close();
  };
  const server = async (): Promise<void> => {
    if (!TEST_DATABASE_URL) return;
    const name = `test_template_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    await onServer((sql) => sql.unsafe(`CREATE DATABASE ${name}`));
    postgresTemplate = name;
    const handle = await openDatabase({ url: urlFor(name), maxConnections: 1 });
    await handle.close();
  };

  try {
    await Promise.all([pglite(), server()]);
  } catch (err) {
    await teardown();
    throw err;
  }

  project.provide('pgliteTemplateDir', dataDir);
  project.provide('pgliteTemplateDump', dump);
  project.provide('postgresTemplate', postgresTemplate);
  return teardown;
}
