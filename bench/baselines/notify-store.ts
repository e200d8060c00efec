/**
 * The essential work of storing a notification, with nothing in between (figures 1 and 3's
 * baselines): parse the form once, check the same sign with the same function the gateway uses
 * (src/ums/sign.ts), and one `INSERT … ON CONFLICT DO UPDATE` in a table of the baseline's own.
 */
import { DEMO } from '../../src/config.js';
import { verifyNotifySign } from '../../src/ums/sign.js';
import type { SeedArgs } from '../ipc.js';
import type { RawSql } from './raw-sql.js';

const TABLE = 'bench_baseline_orders';

export interface StoredOrder {
  mer_order_id: string;
  status: string;
  version: number;
  total_amount: number;
  updated_at: Date;
}

const UPSERT = `INSERT INTO ${TABLE} (mer_order_id, status, total_amount, notify_id, target_order_id, pay_time, raw_body)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (mer_order_id) DO UPDATE SET status = excluded.status, version = ${TABLE}.version + 1,
  notify_id = excluded.notify_id, target_order_id = excluded.target_order_id, pay_time = excluded.pay_time,
  raw_body = excluded.raw_body, updated_at = now()
RETURNING mer_order_id, status, version, total_amount, updated_at`;

export async function createBaselineTable(sql: RawSql): Promise<void> {
  await sql.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
    mer_order_id text PRIMARY KEY, status text NOT NULL, version integer NOT NULL DEFAULT 1,
    total_amount integer NOT NULL, notify_id text, target_order_id text, pay_time text, raw_body text,
    updated_at timestamptz NOT NULL DEFAULT now())`);
}

/** The same order ids the gateway holds, so that each upsert takes the UPDATE path, as the gateway does. */
export async function seedBaselineOrders(sql: RawSql, { prefix, count }: SeedArgs): Promise<void> {
  await sql.query(
    `INSERT INTO ${TABLE} (mer_order_id, status, total_amount) SELECT $1 || g, 'NEW_ORDER', 100 FROM generate_series(0, $2::int - 1) g ON CONFLICT DO NOTHING`,
    [prefix, count],
  );
}

export async function countStatus(sql: RawSql, status: string): Promise<number> {
  const [row] = await sql.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${TABLE} WHERE status = $1`, [status]);
  return Number(row?.n ?? 0);
}

/**
 * UPSERT, and in the same statement a `pg_notify` on `channel` carrying the stored row (the bare
 * way to tell other instances: the payload is the news). For the fan-out baseline across instances.
 */
const upsertNotifying = (channel: string) => `WITH stored AS (${UPSERT})
SELECT stored.*, pg_notify('${channel}', json_build_object('mer_order_id', mer_order_id, 'status', status, 'version', version,
  'total_amount', total_amount, 'updated_at', updated_at)::text) FROM stored`;

/**
 * Verifies and stores one form body; undefined when it is refused (the caller answers 400). With
 * `notifyChannel`, the same statement also NOTIFYs the row on that channel.
 */
export async function storeNotification(sql: RawSql, body: string, keys: readonly string[] = [DEMO.notifyKey], notifyChannel?: string): Promise<StoredOrder | undefined> {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body)) if (!(name in fields)) fields[name] = value;
  if (!verifyNotifySign(fields, keys).ok) return undefined;
  const { merOrderId, status, totalAmount } = fields;
  if (!merOrderId || !status || !totalAmount) return undefined;
  const [row] = await sql.query<StoredOrder>(notifyChannel ? upsertNotifying(notifyChannel) : UPSERT, [
    merOrderId,
    status,
    Number(totalAmount),
    fields.notifyId ?? null,
    fields.targetOrderId ?? null,
    fields.payTime ?? null,
    body,
  ]);
  return row;
}
