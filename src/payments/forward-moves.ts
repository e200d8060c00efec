/**
 * The notification hot path's write (bench/README.md, "notify"): the plain forward moves of a
 * batch of notifications (notification-batches.ts), all in one statement. For each move: update
 * the payment, append its event, store the notification row that carried it, and `pg_notify`.
 *
 * The rows travel as one JSON parameter read by `jsonb_to_recordset`, so the statement's text is
 * the same whatever the batch size, and it is sent as a named statement (prepared once per
 * connection; see src/db/named-statement.ts). It runs on the caller's transaction, after the rows were
 * locked and the moves planned (ledger.ts planForwardMove), so the lock, the atomicity and the
 * redelivery race handling stay the transaction's. Values are computed by the ledger; this file
 * only writes them.
 */
import { sql } from 'drizzle-orm';
import type { Transaction } from '../db/database.js';
import { executeNamed } from '../db/named-statement.js';
import { PAYMENT_STATUS_CHANNEL, type ForwardMove } from './ledger.js';

/** The notifications row stored with a move (outcome `applied`, the move's reason). */
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

/**
 * Writes every move with its notification; at most one move per payment. Answers, per merOrderId,
 * what was written; a payment missing from the answer was not updated (it did not have the
 * version the move was planned on).
 */
export async function writeForwardMoves(
  tx: Transaction,
  moves: readonly { move: ForwardMove; notification: NotificationToStore }[],
): Promise<Map<string, ForwardMoveWritten>> {
  const rows = moves.map(({ move, notification: n }) => {
    const p = move.payment;
    return {
      mer_order_id: p.merOrderId,
      mid: p.mid,
      tid: p.tid,
      total_amount: p.totalAmount,
      inst_mid: p.instMid,
      target_order_id: p.targetOrderId,
      target_sys: p.targetSys,
      seq_id: p.seqId,
      pay_time: p.payTime,
      settle_date: p.settleDate,
      buyer_pay_amount: p.buyerPayAmount,
      receipt_amount: p.receiptAmount,
      status: p.status,
      version: p.version,
      next_sync_at: p.nextSyncAt,
      last_event_at: p.lastEventAt,
      updated_at: p.updatedAt,
      source: move.source,
      previous_status: move.previousStatus,
      reason: move.reason,
      payload: move.payload,
      content_type: n.contentType,
      raw_body: n.rawBody,
      key_index: n.keyIndex,
      notify_id: n.notifyId,
      reported_status: n.status,
      dedupe_key: n.dedupeKey,
    };
  });
  // Dates become ISO text in JSON and timestamptz in the record: one parameter, no driver typing.
  const result = await executeNamed<WrittenRow>(tx, 'notify_forward_moves', sql`
    with m as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as m(
        mer_order_id text, mid text, tid text, total_amount int, inst_mid text, target_order_id text,
        target_sys text, seq_id text, pay_time timestamptz, settle_date text, buyer_pay_amount int,
        receipt_amount int, status text, version int, next_sync_at timestamptz, last_event_at timestamptz,
        updated_at timestamptz, source text, previous_status text, reason text, payload jsonb,
        content_type text, raw_body text, key_index int, notify_id text, reported_status text, dedupe_key text)),
    p as (
      update payments set
        mid = m.mid, tid = m.tid, total_amount = m.total_amount, inst_mid = m.inst_mid,
        target_order_id = m.target_order_id, target_sys = m.target_sys, seq_id = m.seq_id,
        pay_time = m.pay_time, settle_date = m.settle_date, buyer_pay_amount = m.buyer_pay_amount,
        receipt_amount = m.receipt_amount, status = m.status, version = payments.version + 1,
        next_sync_at = m.next_sync_at, last_event_at = m.last_event_at, updated_at = m.updated_at
      from m
      -- The ANY gives the planner the primary key's index: it cannot know how many rows m holds,
      -- guesses 100, and would otherwise hash-join them against a scan of every payment.
      where payments.mer_order_id = any(array(select mer_order_id from m))
        and payments.mer_order_id = m.mer_order_id and payments.version + 1 = m.version
      returning payments.mer_order_id, payments.status, payments.version, payments.updated_at),
    e as (
      insert into payment_events (mer_order_id, source, previous_status, status, version, reason, notification_id, payload, at)
      select p.mer_order_id, m.source, m.previous_status, p.status, p.version, m.reason, null, m.payload, p.updated_at
      from p join m on m.mer_order_id = p.mer_order_id
      returning id, mer_order_id, version),
    n as (
      insert into notifications (content_type, raw_body, verified, key_index, notify_id, mer_order_id, status, dedupe_key, outcome, reason, payment_event_id)
      select m.content_type, m.raw_body, true, m.key_index, m.notify_id, m.mer_order_id, m.reported_status, m.dedupe_key, 'applied', m.reason, e.id
      from e join m on m.mer_order_id = e.mer_order_id
      on conflict (dedupe_key) do nothing
      returning id, payment_event_id)
    select e.mer_order_id, e.version, e.id::text as event_id, n.id::text as notification_id,
           pg_notify(${PAYMENT_STATUS_CHANNEL}::text,
             json_build_object('merOrderId', e.mer_order_id, 'version', e.version, 'eventId', e.id)::text)::text as notified
    from e left join n on n.payment_event_id = e.id`);
  const written = new Map<string, ForwardMoveWritten>();
  for (const row of result) {
    written.set(row.mer_order_id, {
      version: Number(row.version),
      eventId: Number(row.event_id),
      notificationId: row.notification_id === null ? undefined : Number(row.notification_id),
    });
  }
  return written;
}

interface WrittenRow extends Record<string, unknown> {
  mer_order_id: string;
  version: number | string;
  event_id: string;
  notification_id: string | null;
}
