/**
 * The notification hot path's write, in one statement (bench/README.md, "notify"): a plain forward
 * move decided by the ledger (ApplyOptions.writeForwardMove) — update the payment, append its
 * event, store the notification row and `pg_notify` — in one CTE instead of three Drizzle-built
 * statements, each its own round trip while the transaction holds the row lock.
 *
 * It runs on the caller's transaction (`tx.execute`), after the locked read and the decision, so
 * the lock, the atomicity and the dedupe race handling stay the transaction's. Values are computed
 * by the ledger; this file only writes them. Timestamps travel as ISO text with a cast: Drizzle's
 * postgres-js driver leaves timestamp types unserialised.
 */
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Transaction } from '../db/database.js';
import { PAYMENT_STATUS_CHANNEL, type ForwardMove } from './ledger.js';

/** The notifications row stored with the move (outcome `applied`, reason `forward`). */
const dialect = new PgDialect();

export interface NotificationToStore {
  contentType: string;
  rawBody: string;
  keyIndex: number;
  notifyId: string | null;
  merOrderId: string;
  status: string;
  dedupeKey: string;
}

export interface ForwardMoveWritten {
  eventId: number;
  version: number;
  /** Undefined when the dedupe key was already taken (a redelivery raced us): nothing is stored for it. */
  notificationId: number | undefined;
}

export async function writeForwardMoveWithNotification(
  tx: Transaction,
  move: ForwardMove,
  notification: NotificationToStore,
): Promise<ForwardMoveWritten> {
  const p = move.payment;
  const iso = (d: Date | null) => (d === null ? null : d.toISOString());
  const statement = sql`
    with p as (
      update payments set
        mid = ${p.mid}::text, tid = ${p.tid}::text, total_amount = ${p.totalAmount}::int,
        inst_mid = ${p.instMid}::text, target_order_id = ${p.targetOrderId}::text,
        target_sys = ${p.targetSys}::text, seq_id = ${p.seqId}::text,
        pay_time = ${iso(p.payTime)}::timestamptz, settle_date = ${p.settleDate}::text,
        buyer_pay_amount = ${p.buyerPayAmount}::int, receipt_amount = ${p.receiptAmount}::int,
        status = ${p.status}::text, version = version + 1,
        next_sync_at = ${iso(p.nextSyncAt)}::timestamptz,
        last_event_at = ${iso(p.lastEventAt)}::timestamptz, updated_at = ${iso(p.updatedAt)}::timestamptz
      where mer_order_id = ${p.merOrderId}::text
      returning mer_order_id, status, version, updated_at),
    e as (
      insert into payment_events (mer_order_id, source, previous_status, status, version, reason, notification_id, payload, at)
      select mer_order_id, ${move.source}::text, ${move.previousStatus}::text, status, version, ${move.reason}::text,
             ${move.notificationId}::bigint, ${move.payload === null ? null : JSON.stringify(move.payload)}::jsonb, updated_at
      from p
      returning id, mer_order_id, version),
    n as (
      insert into notifications (content_type, raw_body, verified, key_index, notify_id, mer_order_id, status, dedupe_key, outcome, reason, payment_event_id)
      select ${notification.contentType}::text, ${notification.rawBody}::text, true, ${notification.keyIndex}::int,
             ${notification.notifyId}::text, ${notification.merOrderId}::text, ${notification.status}::text,
             ${notification.dedupeKey}::text, 'applied', ${move.reason}::text, e.id
      from e
      on conflict (dedupe_key) do nothing
      returning id)
    select (select version from p) as version,
           (select id from e)::text as event_id,
           (select id from n)::text as notification_id,
           (select pg_notify(${PAYMENT_STATUS_CHANNEL}::text,
              json_build_object('merOrderId', mer_order_id, 'version', version, 'eventId', id)::text)::text from e) as notified`;
  // Named, so postgres.js keeps it prepared on each connection (parsed and planned once); this is
  // what `tx.execute(statement)` does, on the same transaction's session, plus the name. PGlite
  // ignores the name.
  const result: unknown = await tx._.session
    .prepareQuery(dialect.sqlToQuery(statement), undefined, 'notify_forward_move', false)
    .execute();
  const [row] = rowsOf(result);
  if (!row || row.version === null || row.event_id === null) throw new Error(`payment ${p.merOrderId} vanished while locked`);
  return {
    version: Number(row.version),
    eventId: Number(row.event_id),
    notificationId: row.notification_id === null ? undefined : Number(row.notification_id),
  };
}

interface WrittenRow {
  version: number | string | null;
  event_id: string | null;
  notification_id: string | null;
}

/** postgres.js answers an array of rows, PGlite an object holding `rows`. */
function rowsOf(result: unknown): WrittenRow[] {
  if (Array.isArray(result)) return result as WrittenRow[];
  return (result as { rows: WrittenRow[] }).rows;
}
