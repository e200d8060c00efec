/**
 * Databases for tests: an in-memory PGlite always, and a fresh, randomly named database on the
 * TEST_DATABASE_URL server when that variable is set (CI sets it). Every suite that touches SQL
 * runs through `describeEachDatabase`, so the same assertions hold on both drivers.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { describe } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;

/** A test database: the handle plus what its close() also cleans up. */
export interface TestDatabase extends DatabaseHandle {
  /** postgres://… of the fresh database (undefined for PGlite). */
  url?: string;
  /** Database name on the server (postgres only). */
  name?: string;
}

/** A fresh in-memory PGlite with migrations applied. */
export async function pgliteDatabase(): Promise<TestDatabase> {
  return openDatabase({ pgliteDataDir: 'memory://' });
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
export async function postgresDatabase(options: { maxConnections?: number } = {}): Promise<TestDatabase> {
  const name = `test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await onServer((sql) => sql.unsafe(`CREATE DATABASE ${name}`));
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
  open: () => Promise<TestDatabase>;
}

export const databaseKinds: readonly DatabaseKind[] = [
  { driver: 'pglite', open: pgliteDatabase },
  ...(TEST_DATABASE_URL ? [{ driver: 'postgres' as const, open: () => postgresDatabase() }] : []),
];

/** `describe` once per available database: PGlite always, Postgres when TEST_DATABASE_URL is set. */
export function describeEachDatabase(name: string, fn: (kind: DatabaseKind) => void): void {
  for (const kind of databaseKinds) describe(`${name} [${kind.driver}]`, () => fn(kind));
}

/** `describe` that runs only against real Postgres (skipped, visibly, without TEST_DATABASE_URL). */
export const describePostgres: typeof describe.skip = TEST_DATABASE_URL ? describe : describe.skip;
