/**
 * The event feed: every payment_events row, oldest first, in an order a reader can page through
 * without missing one or seeing one twice, however many instances write concurrently.
 *
 * Why not `order by id`: identity values are taken when a row is inserted, not when its
 * transaction commits, so a slow transaction holding id 10 can commit after id 11 was served; a
 * reader already past 11 would never see 10. Instead each event records its writing
 * transaction's id (`tx_id`, set by Postgres), and the feed serves only events whose transaction
 * is older than every transaction still in flight (`tx_id <` FEED_HORIZON, at most
 * `pg_snapshot_xmin(pg_current_snapshot())` of this database): those have all committed (or rolled
 * back), and nothing can ever again appear below that horizon (new transactions get larger ids). Ordered by (tx_id, id), the served part of the feed only ever grows
 * at its end, so a cursor (tx_id, id) is a stable place in it.
 *
 * The horizon is this database's, not the server's: transaction ids are server-wide, so a long
 * transaction in another database on the same server (another application, a migration, a test
 * suite) would otherwise hold our feed back too. FEED_HORIZON drops from the snapshot's in-flight
 * list the transactions that pg_stat_activity shows running in another database; any in-flight
 * id it cannot place (ended since the snapshot, a prepared transaction, a background worker, or
 * not visible to our role) stays in, so an unknown only ever holds the feed back, never lets it
 * skip an event. xip is 64-bit (xid8), backend_xid 32-bit: in-flight ids are within 2^31 of each
 * other, so the low 32 bits name one transaction.
 *
 * The price: an event becomes visible in the feed only once every transaction of this database
 * that began before its own has ended; a long (or idle, xid-holding) transaction here holds the
 * feed back until it ends. Ledger transactions are short.
 */
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { paymentEvents, payments, type PaymentEventRow } from '../db/schema.js';

/**
 * The oldest transaction of this database still in flight (as an xid8), or the snapshot's xmax
 * when there is none: every event with a smaller tx_id has committed or rolled back.
 */
export const FEED_HORIZON = sql`(
  select coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot()))
  from pg_snapshot_xip(pg_current_snapshot()) as x
  where (x::text::bigint % 4294967296) not in (
    select backend_xid::text::bigint from pg_stat_activity
    where backend_xid is not null and datname <> current_database()
  )
)`;

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
    sql`${paymentEvents.txId} < ${FEED_HORIZON}`,
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
