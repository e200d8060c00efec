/**
 * Databases for tests: an in-memory PGlite always, and a fresh, randomly named database on the
 * TEST_DATABASE_URL server when that variable is set (CI sets it). Every suite that touches SQL
 * runs through `describeEachDatabase`, so the same assertions hold on both drivers.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import postgres from 'postgres';
import { describe, inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;

/** A test database: the handle plus what its close() also cleans up. */
export interface TestDatabase extends DatabaseHandle {
  /** postgres://… of the fresh database (undefined for PGlite). */
  url?: string;
  /** Database name on the server (postgres only). */
  name?: string;
}

export interface FreshOption {
  /** Skip the run's migrated template: an empty database that openDatabase migrates itself. */
  fresh?: boolean;
}

let templateDump: Blob | undefined;

/**
 * The migrated PGlite data directory that test/support/global-setup.ts built for this run, as a
 * dump (read once per test file). Undefined when vitest ran without that setup.
 */
function pgliteTemplate(): Blob | undefined {
  const path = inject('pgliteTemplateDump');
  if (!path) return undefined;
  templateDump ??= new Blob([readFileSync(path)]);
  return templateDump;
}

/**
 * A fresh in-memory PGlite with migrations applied: loaded from the run's migrated template
 * (openDatabase still runs the migrator, which finds nothing to do) instead of an initdb.
 */
export async function pgliteDatabase(options: FreshOption = {}): Promise<TestDatabase> {
  const template = options.fresh ? undefined : pgliteTemplate();
  return openDatabase({ pgliteDataDir: 'memory://', ...(template ? { pgliteLoadDataDir: template } : {}) });
}

/**
 * Fills the empty (or not yet existing) directory `dir` with a copy of the run's migrated PGlite
 * data directory, for a test that hands a data directory to a gateway (a process, src/app.ts):
 * the gateway then opens it without an initdb. Does nothing without the run's template.
 */
export function seedPgliteDataDir(dir: string): void {
  const template = inject('pgliteTemplateDir');
  if (template) cpSync(template, dir, { recursive: true });
}

/** Connection URL of `name` on the TEST_DATABASE_URL server. */
export function urlFor(name: string, base = TEST_DATABASE_URL): string {
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs one statement on the server's maintenance database (CREATE/DROP DATABASE, terminate). */
export async function onServer<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => {} });
  try {
    return await fn(admin);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** A fresh, randomly named database on the TEST_DATABASE_URL server; close() drops it. */
export async function postgresDatabase(options: { maxConnections?: number } & FreshOption = {}): Promise<TestDatabase> {
  const name = `test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  // From the run's migrated template (global-setup.ts) when there is one: a file copy instead of
  // running every migration over the wire; openDatabase then finds nothing left to apply.
  const template = options.fresh ? undefined : inject('postgresTemplate');
  await onServer((sql) => sql.unsafe(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`));
  const url = urlFor(name);
  let handle: DatabaseHandle;
  try {
    handle = await openDatabase({ url, maxConnections: options.maxConnections });
  } catch (err) {
    await dropDatabase(name);
    throw err;
  }
  return {
    ...handle,
    url,
    name,
    async close() {
      await handle.close().catch(() => {});
      await dropDatabase(name);
    },
  };
}

async function dropDatabase(name: string): Promise<void> {
  await onServer((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export interface DatabaseKind {
  driver: 'pglite' | 'postgres';
  open: (options?: FreshOption) => Promise<TestDatabase>;
}

export const databaseKinds: readonly DatabaseKind[] = [
  { driver: 'pglite', open: (options) => pgliteDatabase(options) },
  ...(TEST_DATABASE_URL ? [{ driver: 'postgres' as const, open: (options?: FreshOption) => postgresDatabase(options) }] : []),
];

/** `describe` once per available database: PGlite always, Postgres when TEST_DATABASE_URL is set. */
export function describeEachDatabase(name: string, fn: (kind: DatabaseKind) => void): void {
  for (const kind of databaseKinds) describe(`${name} [${kind.driver}]`, () => fn(kind));
}

/** `describe` that runs only against real Postgres (skipped, visibly, without TEST_DATABASE_URL). */
export const describePostgres: typeof describe.skip = TEST_DATABASE_URL ? describe : describe.skip;
