/**
 * A raw SQL statement sent as a named (prepared) statement, for hand-written hot-path SQL.
 *
 * Drizzle sends a query unnamed unless it is `.prepare(name)`d, and only query builders have
 * `.prepare`; `db.execute(sql)` has none. Unnamed, postgres.js needs two round trips for any
 * statement with parameters (Parse/Describe, wait for the parameter types, then Bind/Execute) and
 * Postgres parses and plans it every time; named, postgres.js keeps it prepared per connection
 * (keyed by its text): one round trip, planned once. PGlite ignores the name.
 *
 * This is what `db.execute` does (dialect.sqlToQuery, then the session's prepareQuery), plus the
 * name. It uses Drizzle's session (`db._.session`), which is not a documented API: drizzle-orm is
 * pinned, and test/db/named-statement.test.ts fails if an upgrade changes it.
 */
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database } from './database.js';

const dialect = new PgDialect();

/** Runs `statement` on `db` (or a transaction) as the prepared statement `name`; answers its rows. */
export async function executeNamed<Row extends Record<string, unknown>>(db: Database, name: string, statement: SQL): Promise<Row[]> {
  const result: unknown = await db._.session.prepareQuery(dialect.sqlToQuery(statement), undefined, name, false).execute();
  // postgres.js answers an array of rows, PGlite an object holding `rows`.
  return Array.isArray(result) ? (result as Row[]) : (result as { rows: Row[] }).rows;
}

/**
 * A named statement whose SQL text is built once: `statement` with `sql.placeholder(name)`s for
 * what varies. `executeNamed` turns its SQL into text on every call, which for a long generated
 * statement costs more CPU than the call's own work.
 */
export interface NamedStatement<Row extends Record<string, unknown>> {
  execute(db: Database, values: Record<string, unknown>): Promise<Row[]>;
}

export function namedStatement<Row extends Record<string, unknown>>(name: string, statement: SQL): NamedStatement<Row> {
  const query = dialect.sqlToQuery(statement);
  return {
    async execute(db, values) {
      const result: unknown = await db._.session.prepareQuery(query, undefined, name, false).execute(values);
      return Array.isArray(result) ? (result as Row[]) : (result as { rows: Row[] }).rows;
    },
  };
}
