/** Raw SQL answers on both drivers: postgres.js answers an array of rows, PGlite `{ rows }`. */
import type { SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';

export async function query<Row extends Record<string, unknown>>(db: Database, statement: SQL): Promise<Row[]> {
  const result: unknown = await db.execute(statement);
  return Array.isArray(result) ? (result as Row[]) : (result as { rows: Row[] }).rows;
}

/** The LISTEN/NOTIFY channel that says webhook work may be waiting (new deliveries, changed endpoints). */
export const WEBHOOK_CHANNEL = 'webhook_work';
