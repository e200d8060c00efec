/**
 * The baselines' database access with nothing in between: postgres.js tagged-free `unsafe` with
 * `prepare: true` (a named prepared statement per text, as postgres.js does for its tagged
 * templates), or PGlite's own `query` when no Postgres server is configured. The pool has 10
 * connections, like the gateway's.
 */
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import postgres from 'postgres';
import { migrationsFolder, schema, type Database } from '../../src/db/database.js';

export type SqlValue = string | number | null;

export interface RawSql {
  query<T extends object>(text: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** PGlite only: the gateway's schema on the same embedded database (to seed `payments`). */
  readonly embedded: Database | undefined;
  close(): Promise<void>;
}

export async function openRawSql(databaseUrl: string | undefined, options: { migrate?: boolean } = {}): Promise<RawSql> {
  if (databaseUrl) {
    const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });
    return {
      query: async <T extends object>(text: string, params: readonly SqlValue[] = []) =>
        (await sql.unsafe(text, params as SqlValue[], { prepare: true })) as unknown as T[],
      embedded: undefined,
      close: () => sql.end({ timeout: 5 }),
    };
  }
  const pg = await PGlite.create('memory://');
  let embedded: Database | undefined;
  if (options.migrate) {
    const db = drizzle(pg, { schema });
    await migrate(db, { migrationsFolder: migrationsFolder() });
    embedded = db;
  }
  return {
    query: async <T extends object>(text: string, params: readonly SqlValue[] = []) => (await pg.query<T>(text, [...params])).rows,
    embedded,
    close: () => pg.close(),
  };
}
