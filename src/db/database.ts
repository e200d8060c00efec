/**
 * One Drizzle database over two drivers: postgres.js for a real server (`DATABASE_URL`), PGlite
 * (embedded Postgres in WebAssembly) otherwise. Both speak the same SQL, so every query, the
 * migrations and LISTEN/NOTIFY are written once against the `Database` type.
 *
 * Opening applies the committed migrations from drizzle/ before anything else touches the tables.
 */
import { dirname, join } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { errorSummary } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { RemotePGlite } from './pglite-remote.js';
import { PGLITE_SETTINGS, type PgliteWorker } from './pglite-worker.js';
import * as schema from './schema.js';

export { schema };
export type Schema = typeof schema;

/** The one Drizzle type the rest of the code uses, whichever driver is underneath. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

/** What `db.transaction(tx => …)` hands over; also a `Database`, so helpers accept either. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export type Driver = 'postgres' | 'pglite';

export interface OpenDatabaseOptions {
  /** `postgres://…`: use postgres.js against that server. Unset: embedded PGlite. */
  url?: string;
  /** PGlite's data directory, or `memory://` to keep nothing. Default `memory://`. */
  pgliteDataDir?: string;
  /**
   * PGlite already being opened in a worker thread (main.ts starts it before loading the rest:
   * pglite-worker.ts), used instead of opening one here; it holds the directory's lock.
   */
  pgliteWorker?: PgliteWorker;
  /**
   * PGlite: start from this data directory tarball (`PGlite.dumpDataDir`) instead of running
   * initdb; migrations are applied on top as usual. The test suite opens hundreds of databases
   * from one migrated dump this way (initdb costs seconds of CPU in WebAssembly).
   */
  pgliteLoadDataDir?: Blob;
  /** postgres.js pool size (default 10). */
  maxConnections?: number;
  /** postgres.js: seconds to wait for a connection before failing (default 5). */
  connectTimeoutSeconds?: number;
  log?: Logger;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface DatabaseHandle {
  db: Database;
  driver: Driver;
  /** True when the database answers and every committed migration is applied (`/readyz`). */
  ready(): Promise<boolean>;
  /**
   * LISTEN on a channel. postgres.js keeps a dedicated connection and re-listens after a
   * reconnect; PGlite delivers notifications of its own (single) connection. `onListen` runs
   * each time the LISTEN is (re)established, so a subscriber can catch up on what it missed.
   */
  listen(channel: string, onPayload: (payload: string) => void, onListen?: () => void): Promise<Subscription>;
  /** Closes the pool or the embedded database; idempotent. */
  close(): Promise<void>;
}

/** Thrown when the database cannot be opened or migrated; the message never carries the URL. */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

/**
 * drizzle/ at the package root. This file runs as src/db/database.ts (vitest, tsx) and as
 * dist/src/db/database.js (after tsc), so walk up until a folder holding drizzle/meta is found.
 */
export function migrationsFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'drizzle');
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate;
    dir = dirname(dir);
  }
  throw new DatabaseOpenError('drizzle/ migrations folder not found above src/db');
}

/** Opens the database and applies migrations. */
export async function openDatabase(opts: OpenDatabaseOptions = {}): Promise<DatabaseHandle> {
  const folder = migrationsFolder();
  const expected = readMigrationFiles({ migrationsFolder: folder });
  const latest = expected.length === 0 ? 0 : Math.max(...expected.map((m) => m.folderMillis));
  const handle = opts.url ? await openPostgres(opts.url, opts, folder) : await openPglite(opts, folder);
  opts.log?.info({ driver: handle.driver, migrations: expected.length }, 'database open, migrations applied');

  const ready = async (): Promise<boolean> => {
    try {
      const rows = await handle.db
        .select({ at: sql<string | number | null>`max(created_at)` })
        .from(sql`drizzle.__drizzle_migrations`);
      return Number(rows[0]?.at ?? 0) >= latest;
    } catch {
      return false;
    }
  };
  return { ...handle, ready };
}

type Opened = Omit<DatabaseHandle, 'ready'>;

async function openPostgres(url: string, opts: OpenDatabaseOptions, folder: string): Promise<Opened> {
  const client = postgres(url, {
    max: opts.maxConnections ?? 10,
    onnotice: () => {},
    // Fail fast when the server is unreachable: a request waiting 30 s helps nobody; UMS retries.
    connect_timeout: opts.connectTimeoutSeconds ?? 5,
  });
  const db = drizzlePostgres(client, { schema });
  try {
    await migratePostgresOnce(url, folder);
  } catch (err) {
    await client.end({ timeout: 1 }).catch(() => {});
    throw new DatabaseOpenError(`could not migrate the Postgres database: ${safeMessage(err)}`);
  }
  let closed = false;
  return {
    db,
    driver: 'postgres',
    async listen(channel, onPayload, onListen) {
      const { unlisten } = await client.listen(channel, onPayload, onListen);
      return { close: () => unlisten().catch(() => {}) };
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.end({ timeout: 5 });
    },
  };
}

/** Any constant: instances of the gateway agree on it to migrate one at a time. */
const MIGRATION_LOCK = 7_312_024_001;

/**
 * Several instances starting together must not run the same migration twice: the first takes a
 * session advisory lock, the others wait and then find nothing left to do. One connection
 * (max 1) so the lock, the migration's transaction and the unlock share a session.
 */
async function migratePostgresOnce(url: string, folder: string): Promise<void> {
  const single = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await single`select pg_advisory_lock(${MIGRATION_LOCK})`;
    try {
      await migratePostgres(drizzlePostgres(single), { migrationsFolder: folder });
    } finally {
      await single`select pg_advisory_unlock(${MIGRATION_LOCK})`;
    }
  } finally {
    await single.end({ timeout: 5 });
  }
}

async function openPglite(opts: OpenDatabaseOptions, folder: string): Promise<Opened> {
  const dataDir = opts.pgliteWorker?.dataDir ?? opts.pgliteDataDir ?? 'memory://';
  if (opts.pgliteWorker) return usePglite(await openRemote(opts.pgliteWorker), dataDir, folder, undefined);
  let lock: DataDirLock | undefined;
  // Every directory on disk is locked, however it is written (`file://` is PGlite's on-disk
  // scheme too); only memory:// (and the browser's idb://) keep nothing on disk.
  const onDisk = !dataDir.includes('://') || dataDir.startsWith('file://');
  if (onDisk) {
    const path = dataDir.startsWith('file://') ? dataDir.slice('file://'.length) : dataDir;
    mkdirSync(path, { recursive: true });
    // Before PGlite touches a file: a second process must not open files another one writes.
    lock = lockDataDir(path);
  }
  let client: PGlite;
  try {
    client = await PGlite.create({
      dataDir,
      startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
      ...(opts.pgliteLoadDataDir ? { loadDataDir: opts.pgliteLoadDataDir } : {}),
    });
  } catch (err) {
    lock?.release();
    throw err;
  }
  return usePglite(client, dataDir, folder, lock);
}

/** The worker's PGlite; its directory is unlocked when it stops (on close, or here on failure). */
async function openRemote(worker: PgliteWorker): Promise<PGlite> {
  try {
    // Drizzle's PGlite driver takes a PGlite; RemotePGlite is one in all the driver uses (query, transaction).
    return (await RemotePGlite.open(worker)) as unknown as PGlite;
  } catch (err) {
    await worker.stop();
    throw err;
  }
}

async function usePglite(client: PGlite, dataDir: string, folder: string, lock: DataDirLock | undefined): Promise<Opened> {
  const db = drizzlePglite(client, { schema });
  try {
    await migratePglite(db, { migrationsFolder: folder });
  } catch (err) {
    await client.close().catch(() => {});
    lock?.release();
    throw new DatabaseOpenError(`could not migrate the PGlite database at ${dataDir}: ${safeMessage(err)}`);
  }
  return {
    db,
    driver: 'pglite',
    async listen(channel, onPayload, onListen) {
      const unsubscribe = await client.listen(channel, onPayload);
      onListen?.();
      return { close: () => unsubscribe().catch(() => {}) };
    },
    async close() {
      if (!client.closed) await client.close();
      lock?.release();
    },
  };
}

/** A driver error's message without its query's parameters or anything that looks like a connection string. */
function safeMessage(err: unknown): string {
  const text = errorSummary(err).message;
  return text.replace(/postgres(ql)?:\/\/\S+/g, 'postgres://[redacted]');
}
