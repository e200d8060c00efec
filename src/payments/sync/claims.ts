/**
 * Claiming work for one scheduler round, safely when several instances run.
 *
 * One short transaction selects the due rows `FOR UPDATE SKIP LOCKED` (rows another instance is
 * claiming right now are skipped, not waited for) and pushes their `next_sync_at` to the next
 * gap before committing. Once committed, the rows are no longer due, so no other instance takes
 * them in the same round; UMS is then asked outside any lock. If this instance dies mid-round,
 * the rows simply come due again at their next gap.
 */
import { and, asc, eq, inArray, isNotNull, isNull, lte, or } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/database.js';
import { payments, refunds, type PaymentRow, type RefundRow } from '../../db/schema.js';
import { PENDING_REFUND_STATUSES, scheduleRefundSync, scheduleSync } from '../ledger.js';
import { nextSyncAt, type GapStep } from './gaps.js';

export interface ClaimOptions {
  now: Date;
  /** PAYMENT_SYNC_AFTER_MS: an order with news more recent than this is left alone. */
  afterMs: number;
  limit: number;
  gaps: readonly GapStep[];
}

export interface ClaimedPayment {
  payment: PaymentRow;
  /** Past its expire_time and still open: close it at UMS unless the query says otherwise. */
  expired: boolean;
  /** This was the last question (older than the last gap step). */
  lastTry: boolean;
  /** When the claim planned the next question (null: none). */
  next: Date | null;
}

/**
 * The claim's select: due rows in next_sync_at order, at most `limit`, locked. Served by the
 * partial index on next_sync_at (payments_next_sync_idx): a round reads the due rows it returns
 * and what the quiet filter turns away, never the whole open set (bench/scheduler-rounds.ts
 * counts the rows with EXPLAIN ANALYZE).
 */
export function duePaymentsQuery(db: Database | Transaction, options: Omit<ClaimOptions, 'gaps'>) {
  const { now, afterMs, limit } = options;
  const quietSince = new Date(now.getTime() - afterMs);
  return db
    .select()
    .from(payments)
    .where(
      and(
        isNotNull(payments.nextSyncAt),
        lte(payments.nextSyncAt, now),
        or(
          isNull(payments.lastEventAt),
          lte(payments.lastEventAt, quietSince),
          and(isNotNull(payments.expireTime), lte(payments.expireTime, now)),
        ),
      ),
    )
    .orderBy(asc(payments.nextSyncAt))
    .limit(limit)
    .for('update', { skipLocked: true });
}

/** Due payments: next_sync_at reached and no news for afterMs (or past expiry). */
export async function claimDuePayments(db: Database, options: ClaimOptions): Promise<ClaimedPayment[]> {
  const { now, gaps } = options;
  return db.transaction(async (tx) => {
    const rows = await duePaymentsQuery(tx, options);
    const claimed: ClaimedPayment[] = [];
    for (const payment of rows) {
      const next = nextSyncAt(payment.createdAt, now, gaps, payment.expireTime);
      await scheduleSync(tx, payment.merOrderId, next, payment.syncAttempts + 1);
      const expired = payment.expireTime !== null && payment.expireTime.getTime() <= now.getTime();
      claimed.push({ payment, expired, lastTry: next === null, next });
    }
    return claimed;
  });
}

export interface ClaimedRefund {
  refund: RefundRow;
  /**
   * This was the last question (the refund is older than the last gap step): nothing will ask
   * again, so a refund still pending afterwards must be handed to a person, not left silent.
   */
  lastTry: boolean;
}

/** Refunds still PROCESSING or UNKNOWN whose next_sync_at has come. */
export async function claimDueRefunds(db: Database, options: ClaimOptions): Promise<ClaimedRefund[]> {
  const { now, limit, gaps } = options;
  return db.transaction(async (tx) => {
    const rows = await tx
      .select()
      .from(refunds)
      .where(and(inArray(refunds.status, [...PENDING_REFUND_STATUSES]), isNotNull(refunds.nextSyncAt), lte(refunds.nextSyncAt, now)))
      .orderBy(asc(refunds.nextSyncAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    const claimed: ClaimedRefund[] = [];
    for (const refund of rows) {
      const next = nextSyncAt(refund.createdAt, now, gaps);
      await scheduleRefundSync(tx, refund.refundOrderId, next);
      claimed.push({ refund, lastTry: next === null });
    }
    return claimed;
  });
}

/**
 * Sets an order's next_sync_at to `next` only if it still holds `expected` (what the round saw in
 * the answer it stored), the row locked meanwhile. The round decides outside any lock; a notice
 * or a review flag stored after that answer may have set next_sync_at to "now" (ask again), and
 * that must not be erased by a decision made on older news. Returns whether it was set.
 */
export async function rescheduleIfUnchanged(db: Database, merOrderId: string, expected: Date | null, next: Date | null): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select({ nextSyncAt: payments.nextSyncAt }).from(payments).where(eq(payments.merOrderId, merOrderId)).for('update');
    if (!row || (row.nextSyncAt?.getTime() ?? null) !== (expected?.getTime() ?? null)) return false;
    await scheduleSync(tx, merOrderId, next);
    return true;
  });
}
