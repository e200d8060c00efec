/**
 * The reads behind queries and subscriptions. Writes never happen here: they go through
 * payments/commands (mutations) and the ledger.
 */
import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { sees, type Visibility } from '../access/visibility.js';
import type { Database } from '../db/database.js';
import { paymentEvents, payments, refunds, type PaymentEventRow, type PaymentRow, type RefundRow } from '../db/schema.js';
import { preparePaymentByOrder, type PaymentByOrder } from './payment-row.js';

/**
 * The read side: what queries and subscriptions read, straight from the database (a deliberate
 * second path beside the write side in payments/). One per GraphQL room, built by createGraphQL.
 *
 * The two single-row reads on the hot path (`payment(merOrderId)`, the subscription's first
 * state) are built once here and prepared: Drizzle otherwise rebuilds the SQL on every call and
 * sends it unprepared, which cost two thirds of the query throughput (bench/README.md).
 *
 * Every read of payments takes the caller's Visibility (src/access/visibility.ts): a payment
 * outside it is absent here, so no resolver can hand out another merchant's payment by forgetting
 * a check. Events and refunds are only ever read for payments already read this way.
 */
export class PaymentReads {
  readonly #payment: PaymentByOrder;
  readonly #latestEvent;

  constructor(private readonly db: Database) {
    const merOrderId = sql.placeholder('merOrderId');
    // Raw, with a hand-written mapping (payment-row.ts): Drizzle's generic one was 6 % of the query figure.
    this.#payment = preparePaymentByOrder(db, 'gql_find_payment');
    this.#latestEvent = db
      .select()
      .from(paymentEvents)
      .where(eq(paymentEvents.merOrderId, merOrderId))
      .orderBy(desc(paymentEvents.version))
      .limit(1)
      .prepare('gql_latest_event');
  }

  /** The payment, when `view` may see it (another merchant's reads as none). */
  async findPayment(merOrderId: string, view: Visibility): Promise<PaymentRow | undefined> {
    if (view.merOrderId !== undefined && view.merOrderId !== merOrderId) return undefined;
    const row = await this.#payment.execute({ merOrderId });
    return row && sees(view, row) ? row : undefined;
  }

  async latestEvent(merOrderId: string): Promise<PaymentEventRow | undefined> {
    const [row] = await this.#latestEvent.execute({ merOrderId });
    return row;
  }

  async eventsByOrder(ids: readonly string[]): Promise<Map<string, PaymentEventRow[]>> {
    const rows = await this.db
      .select()
      .from(paymentEvents)
      .where(inArray(paymentEvents.merOrderId, [...ids]))
      .orderBy(asc(paymentEvents.merOrderId), asc(paymentEvents.version));
    return groupBy(rows, (r) => r.merOrderId);
  }

  async refundsByOrder(ids: readonly string[]): Promise<Map<string, RefundRow[]>> {
    const rows = await this.db
      .select()
      .from(refunds)
      .where(inArray(refunds.merOrderId, [...ids]))
      .orderBy(asc(refunds.merOrderId), asc(refunds.createdAt), asc(refunds.refundOrderId));
    return groupBy(rows, (r) => r.merOrderId);
  }

  /** Newest first, keyset-paginated on (created_at, mer_order_id), which the indexes cover. */
  async listPayments(request: PageRequest): Promise<Page> {
    const conditions: SQL[] = [];
    const { view } = request;
    if (view.merchantId !== undefined) conditions.push(eq(payments.merchantId, view.merchantId));
    if (view.merOrderId !== undefined) conditions.push(eq(payments.merOrderId, view.merOrderId));
    if (request.status) conditions.push(eq(payments.status, request.status));
    if (request.mid) conditions.push(eq(payments.mid, request.mid));
    if (request.needsReview !== undefined) conditions.push(eq(payments.needsReview, request.needsReview));
    if (request.merchantId) conditions.push(eq(payments.merchantId, request.merchantId));
    if (request.after) {
      const cursor = decodeCursor(request.after);
      conditions.push(sql`(${payments.createdAt}, ${payments.merOrderId}) < (${cursor.at}::timestamptz, ${cursor.id})`);
    }
    const rows = await this.db
      .select({ payment: payments, at: sql<string>`${payments.createdAt}::text` })
      .from(payments)
      .where(conditions.length > 0 ? and(...conditions) : undefined)
      .orderBy(desc(payments.createdAt), desc(payments.merOrderId))
      .limit(request.first + 1);
    const page = rows.slice(0, request.first);
    return {
      rows: page.map(({ payment, at }) => ({ payment, cursor: encodeCursor({ at, id: payment.merOrderId }) })),
      hasNextPage: rows.length > request.first,
    };
  }
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

/** Where a page ends: the exact created_at (Postgres text form, microseconds kept) and the id. */
interface Cursor {
  at: string;
  id: string;
}

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id]), 'utf8').toString('base64url');
}

/** Postgres' ISO text form of a timestamptz, e.g. `2026-11-27 23:00:00.123456+00`. */
const PG_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

export function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      if (PG_TIMESTAMPTZ.test(value[0])) return { at: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError('`after` is not a cursor this API handed out');
}

export interface PageRequest {
  /** What the caller may see: the page holds nothing else. */
  view: Visibility;
  first: number;
  after?: string | undefined;
  status?: string | undefined;
  mid?: string | undefined;
  /** The review queue (payments_review_idx covers `true`). */
  needsReview?: boolean | undefined;
  merchantId?: string | undefined;
}

export interface Page {
  rows: { payment: PaymentRow; cursor: string }[];
  hasNextPage: boolean;
}
