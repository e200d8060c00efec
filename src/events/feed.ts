/**
 * The event feed: every payment_events row, oldest first, in an order a reader can page through
 * without missing one or seeing one twice, however many instances write concurrently.
 *
 * Why not `order by id`: identity values are taken when a row is inserted, not when its
 * transaction commits, so a slow transaction holding id 10 can commit after id 11 was served; a
 * reader already past 11 would never see 10. Instead each event records its writing
 * transaction's id (`tx_id`, set by Postgres), and the feed serves only events whose transaction
 * is older than every transaction still in flight (`tx_id < pg_snapshot_xmin(
 * pg_current_snapshot())`): those have all committed (or rolled back), and nothing can ever again
 * appear below that horizon. Ordered by (tx_id, id), the served part of the feed only ever grows
 * at its end, so a cursor (tx_id, id) is a stable place in it.
 *
 * The price: an event becomes visible in the feed only once every transaction that began before
 * its own has ended; a long transaction anywhere on the server (or an idle one holding an xid)
 * holds the feed back until it ends. Ledger transactions are short.
 */
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { paymentEvents, payments, type PaymentEventRow } from '../db/schema.js';

/** A place in the feed: after the event (txId, id). */
export interface FeedPosition {
  txId: string;
  id: number;
}

/** The feed's start: before every event. */
export const FEED_START: FeedPosition = { txId: '0', id: 0 };

const CURSOR_PATTERN = /^(\d{1,20}):(\d{1,19})$/;

/** The opaque cursor of a position (base64url of `txId:id`). */
export function encodeFeedCursor(position: FeedPosition): string {
  return Buffer.from(`${position.txId}:${position.id}`, 'utf8').toString('base64url');
}

/** The position in a cursor; undefined for anything that is not one of ours. */
export function decodeFeedCursor(cursor: string): FeedPosition | undefined {
  if (cursor.length > 64 || !/^[A-Za-z0-9_-]*$/.test(cursor)) return undefined;
  const match = CURSOR_PATTERN.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const id = Number(match[2]);
  if (!Number.isSafeInteger(id)) return undefined;
  return { txId: BigInt(match[1] as string).toString(), id };
}

export function positionOf(event: Pick<PaymentEventRow, 'txId' | 'id'>): FeedPosition {
  return { txId: event.txId, id: event.id };
}

/** True when `a` comes after `b` in the feed. */
export function isAfter(a: FeedPosition, b: FeedPosition): boolean {
  const ta = BigInt(a.txId);
  const tb = BigInt(b.txId);
  return ta > tb || (ta === tb && a.id > b.id);
}

export interface FeedQuery {
  after?: FeedPosition;
  /** How many events at most (the caller bounds it). */
  first: number;
  /** Only this merchant's events. */
  merchantId?: string;
  /** Only this payment's events. */
  merOrderId?: string;
  /** Only the events of payments of this mid (filtered in SQL: a mid that matches nothing costs one query, not a scan). */
  mid?: string;
}

/**
 * Up to `first` committed events after `after`, oldest first, below the in-flight horizon.
 * `first + 1` are read so the caller learns whether more follow.
 */
export async function readFeed(db: Database, query: FeedQuery): Promise<{ events: PaymentEventRow[]; hasMore: boolean }> {
  const after = query.after ?? FEED_START;
  const conditions: SQL[] = [
    sql`${paymentEvents.txId} < pg_snapshot_xmin(pg_current_snapshot())`,
    sql`(${paymentEvents.txId}, ${paymentEvents.id}) > (${after.txId}::xid8, ${after.id}::bigint)`,
  ];
  if (query.merchantId !== undefined) conditions.push(eq(paymentEvents.merchantId, query.merchantId));
  if (query.merOrderId !== undefined) conditions.push(eq(paymentEvents.merOrderId, query.merOrderId));
  if (query.mid !== undefined) {
    conditions.push(
      sql`exists (select 1 from ${payments} where ${payments.merOrderId} = ${paymentEvents.merOrderId} and ${payments.mid} = ${query.mid})`,
    );
  }
  const rows = await db
    .select()
    .from(paymentEvents)
    .where(and(...conditions))
    .orderBy(asc(paymentEvents.txId), asc(paymentEvents.id))
    .limit(query.first + 1);
  return { events: rows.slice(0, query.first), hasMore: rows.length > query.first };
}
