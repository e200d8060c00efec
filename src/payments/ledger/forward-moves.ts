/**
 * The notification hot path's write (bench/README.md, "notify"): the plain forward moves of a
 * batch of notifications (notification-batches.ts), all in one statement, which is its own
 * transaction. For each move: lock the payment (skipping one another transaction holds), update
 * it if it still has the version the move was planned on, append its event, store the
 * notification row that carried it, and send the change notice.
 *
 * The rows are the ones the single-report path writes, described in rows.ts: each move travels as
 * one JSON array (its values by position, no field names), read by `jsonb_array_elements` and
 * named and typed back by a projection generated from those descriptions. The statement's text is therefore the same whatever the batch size, and it is sent
 * as a named statement (prepared once per connection; see src/db/named-statement.ts). Values are
 * computed by the ledger (apply.ts planForwardMove, from the row as read); this file only writes
 * them, and only over the version they were computed from.
 *
 * Why one statement and no explicit transaction: BEGIN, a locking read and COMMIT were three of
 * the batch's four round trips, and the connection sat idle in its transaction while Node planned
 * the moves. The version check makes the unlocked read safe (a payment that moved since is simply
 * not written, and handed back), and a statement is atomic: a dedupe key already taken by a
 * redelivery (the notifications' unique index) fails the statement, and nothing of the batch is
 * stored.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/database.js';
import { namedStatement } from '../../db/named-statement.js';
import { noticeSql } from '../../events/notice.js';
import {
  eventRecord,
  eventValues,
  notificationRecord,
  notificationValues,
  paymentRecord,
  type ReceivedNotification,
} from './rows.js';
import type { ForwardMove } from './types.js';

/** The notification stored with a move (outcome `applied`, the move's reason): first authentic copy. */
export interface NotificationToStore extends ReceivedNotification {
  merOrderId: string;
  status: string;
  dedupeKey: string;
}

export interface ForwardMoveWritten {
  eventId: number;
  version: number;
  notificationId: number;
}

/**
 * The statement for the moves in the JSON parameter `rows`, built once. Only the parameter differs
 * between calls. `version` is
 * checked, not copied: the update applies only on the version the move was planned on.
 *
 * `l` locks the payments first, skipping any another transaction holds (a client that died
 * mid-transaction holds its lock until the server notices): that move is not written and its
 * notification waits alone, instead of the statement, and every notification queued behind it,
 * waiting for the lock. The update then only touches rows this statement holds.
 *
 * No `on conflict` on the notifications: a dedupe key taken by a redelivery that committed first
 * must leave nothing of the batch behind, and a unique violation fails the whole statement.
 */
const statement = namedStatement<WrittenRow>(
  'notify_forward_moves',
  sql`
    with m as (
      select r->>0 as mer_order_id, (r->>1)::int as planned_version, ${paymentRecord.projection('r', 2)},
        ${eventRecord.projection('r', 2 + paymentRecord.width)}, ${notificationRecord.projection('r', 2 + paymentRecord.width + eventRecord.width)}
      from jsonb_array_elements(${sql.placeholder('rows')}::jsonb) as r),
    l as (
      -- The ANY gives the planner the primary key's index: it cannot know how many rows m holds,
      -- guesses 100, and would otherwise hash-join them against a scan of every payment.
      select mer_order_id from payments
      where mer_order_id = any(array(select mer_order_id from m))
      for update skip locked),
    p as (
      update payments set ${paymentRecord.assignments}, version = payments.version + 1
      from m join l on l.mer_order_id = m.mer_order_id
      where payments.mer_order_id = l.mer_order_id and payments.version + 1 = m.planned_version
      returning payments.mer_order_id, payments.version),
    e as (
      insert into payment_events (${eventRecord.columns})
      select ${eventRecord.values}
      from p join m on m.mer_order_id = p.mer_order_id
      returning id, mer_order_id, version),
    n as (
      insert into notifications (${notificationRecord.columns}, payment_event_id)
      select ${notificationRecord.values}, e.id
      from e join m on m.mer_order_id = e.mer_order_id
      returning id, payment_event_id)
    select e.mer_order_id, e.version, e.id::text as event_id, n.id::text as notification_id,
           ${noticeSql({ merOrderId: sql.raw('e.mer_order_id'), version: sql.raw('e.version'), eventId: sql.raw('e.id') })} as notified
    from e join n on n.payment_event_id = e.id`,
);

/**
 * Writes every move with its notification, in one statement (its own transaction, or part of the
 * caller's); at most one move per payment. Answers, per merOrderId, what was written; a payment
 * missing from the answer was not updated (another transaction held it, or it no longer had the
 * version the move was planned on). Throws, having written nothing, when a dedupe key is taken.
 */
export async function writeForwardMoves(
  db: Database,
  moves: readonly { move: ForwardMove; notification: NotificationToStore }[],
): Promise<Map<string, ForwardMoveWritten>> {
  const rows = moves.map(({ move, notification }) => {
    const p = move.payment;
    const event = eventValues(p, move.previousStatus, move.source, move.reason, null, move.payload);
    const stored = notificationValues(notification, { outcome: 'applied', reason: move.reason, dedupeKey: notification.dedupeKey });
    // By position: [merOrderId, planned version, the payment's fields, the event's, the notification's].
    const record: unknown[] = [p.merOrderId, p.version];
    paymentRecord.copyInto(p, record);
    eventRecord.copyInto(event, record);
    notificationRecord.copyInto(stored, record);
    return record;
  });
  // Dates become ISO text in JSON and timestamptz in the record: one parameter, no driver typing.
  const result = await statement.execute(db, { rows: JSON.stringify(rows) });
  const written = new Map<string, ForwardMoveWritten>();
  for (const row of result) {
    written.set(row.mer_order_id, {
      version: Number(row.version),
      eventId: Number(row.event_id),
      notificationId: Number(row.notification_id),
    });
  }
  return written;
}

interface WrittenRow extends Record<string, unknown> {
  mer_order_id: string;
  version: number | string;
  event_id: string;
  notification_id: string;
}
