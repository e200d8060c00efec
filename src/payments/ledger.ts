/**
 * The ledger: the single writer of payment state. Notifications (source NOTIFY), the sync
 * scheduler (SYNC) and GraphQL mutations (MUTATION) all report what they learnt as a
 * `StatusReport`; `applyReport` decides with status.ts and writes, in one transaction, with the
 * payment row locked (SELECT … FOR UPDATE) so that two reports about one order are applied one
 * after the other, never interleaved.
 *
 * Every applied change bumps `version`, appends a payment_events row and sends
 * `pg_notify('payment_status', {merOrderId, version, eventId})`, which Postgres delivers to
 * listeners only when the transaction commits, so subscribers never see a change that was rolled
 * back. Subscribers read the committed row; the payload only carries ids.
 *
 * Prepared statements: a Drizzle prepared query is bound to the connection it was built on, and
 * a transaction runs on a connection of its own, so the hot statements are built per call but
 * named (`.prepare(name)`), which makes postgres.js keep them prepared on each connection (the
 * server parses and plans them once). PGlite ignores the name.
 */
import { and, eq, getTableColumns, ne, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../db/database.js';
import {
  paymentEvents,
  payments,
  refunds,
  type PaymentEventRow,
  type PaymentRow,
  type RefundRow,
} from '../db/schema.js';
import { MAX_STORABLE_FEN } from './amounts.js';
import { PaymentError } from './errors.js';
import { decideTransition, isOpen, isPaidStatus, STATUS_RANK, type EventSource, type PaymentStatus, type TransitionReason } from './status.js';

/** The LISTEN/NOTIFY channel of applied changes. */
export const PAYMENT_STATUS_CHANNEL = 'payment_status';

/** The JSON payload on PAYMENT_STATUS_CHANNEL. */
export interface PaymentStatusNotice {
  merOrderId: string;
  version: number;
  eventId: number;
}

export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'FAIL' | 'UNKNOWN';

/** Refund statuses that are still open: refund-query settles them. */
export const PENDING_REFUND_STATUSES: readonly RefundStatus[] = ['PROCESSING', 'UNKNOWN'];

/** What a notification, a query answer or a mutation learnt about one order. Amounts in fen. */
export interface StatusReport {
  merOrderId: string;
  status: PaymentStatus;
  totalAmount?: number;
  mid?: string;
  tid?: string;
  instMid?: string;
  targetOrderId?: string;
  targetSys?: string;
  seqId?: string;
  payTime?: Date;
  settleDate?: string;
  buyerPayAmount?: number;
  receiptAmount?: number;
  refund?: {
    refundOrderId: string;
    refundAmount: number;
    /** Default SUCCESS: a TRADE_REFUND report means the money went back. */
    status?: RefundStatus;
    refundTargetOrderId?: string;
  };
  /**
   * A refund amount reported with no id at all (no refundOrderId, refundTargetOrderId or
   * notifyId): it cannot be counted exactly once, so the payment is flagged for review instead.
   */
  unidentifiedRefundAmount?: number;
}

export type ApplyOutcome = 'applied' | 'duplicate' | 'stale' | 'review' | 'created';

export interface ApplyResult {
  outcome: ApplyOutcome;
  /** Why (status.ts reason, or the review cause such as `mismatch:totalAmount`). */
  reason: string;
  /** The row as committed (or as it stands, when nothing was applied). */
  payment: PaymentRow;
  /** The appended event, when something was applied or created. */
  event?: PaymentEventRow;
}

export interface ApplyOptions {
  /** The notifications row that carried the report. */
  notificationId?: number;
  /** The report as received, kept on the event for operators (never include `sign`). */
  payload?: unknown;
  /**
   * Apply the report only if the locked payment is still open (NEW_ORDER, WAIT_BUYER_PAY or
   * UNKNOWN). For changes decided locally from a row read earlier, such as a close after a
   * timeout: between that read and this write a payment may have arrived, and TRADE_CLOSED
   * outranks TRADE_SUCCESS, so without this guard a paid order would be closed.
   *
   * When the payment is no longer open nothing is applied and the outcome is `stale` with reason
   * `not-open`. If it is TRADE_SUCCESS or TRADE_REFUND it is also flagged for review
   * (`close-attempt-on-paid-order`): we tried to close an order whose money had moved.
   * A payment that does not exist yet is created from the report as usual (unknown order).
   */
  onlyIfOpen?: boolean;
}

/**
 * A plain forward move, decided from the locked row alone (planForwardMove): the row as it must be
 * after the write, and its event. Written by src/payments/forward-moves.ts for a batch of
 * notifications in one statement.
 */
export interface ForwardMove {
  /** The locked row with the report's fields, the next status, version + 1 and the new times. */
  payment: PaymentRow;
  previousStatus: PaymentStatus;
  source: EventSource;
  reason: TransitionReason;
  /** The event's payload, null when none. */
  payload: unknown;
}

/** Review reason when a refund we had recorded as FAIL is reported SUCCESS (it is then counted). */
export const REFUND_SUCCEEDED_AFTER_FAIL = 'refund-succeeded-after-fail';
/** Review reason when the refunds counted add up to more than the order's totalAmount. */
export const REFUNDED_MORE_THAN_PAID = 'refunded-more-than-paid';
/** Review reason when a report names a refund id already stored under another order (not counted). */
export const REFUND_OF_ANOTHER_ORDER = 'mismatch:refundOrderId';
/** Review reason when a refund is counted that may be one already counted under another id. */
export const REFUND_POSSIBLY_COUNTED_TWICE = 'refund-possibly-counted-twice';
/** Review reason when counting a refund would take refundedAmount past what the column holds (not counted). */
export const REFUNDED_AMOUNT_OVERFLOW = 'refunded-amount-overflow';
/** Review reason when a report says money went back but names no refund we could count once. */
export const REFUND_WITHOUT_ID = 'refund-without-id';
/** Prefix of refund ids we make up for a refund UMS reported without our refundOrderId. */
export const SYNTHETIC_REFUND_PREFIX = 'ums:';

/**
 * The id under which a refund reported without our refundOrderId (say, made in the UMS merchant
 * portal) is stored and counted once: UMS's refundTargetOrderId when present (`ums:<id>`), else
 * the notification's notifyId (`ums:notify:<id>`); undefined when neither exists.
 */
export function syntheticRefundId(ids: { refundTargetOrderId?: string; notifyId?: string }): string | undefined {
  if (ids.refundTargetOrderId) return `${SYNTHETIC_REFUND_PREFIX}${ids.refundTargetOrderId}`;
  if (ids.notifyId) return `${SYNTHETIC_REFUND_PREFIX}notify:${ids.notifyId}`;
  return undefined;
}

export function isSyntheticRefundId(refundOrderId: string): boolean {
  return refundOrderId.startsWith(SYNTHETIC_REFUND_PREFIX);
}

/** Reason of an applied change that only counted a refund (the reported status was not news). */
export const REFUND_COUNTED_REASON = 'refund-counted';
/** Review reason when a refund is reported for an order never known as paid, with no status to apply. */
export const REFUND_ON_UNPAID_ORDER = 'refund-on-unpaid-order';
/** Outcome reason when `onlyIfOpen` found the payment no longer open. */
export const NOT_OPEN_REASON = 'not-open';
/** Review reason when `onlyIfOpen` found the payment paid (or refunded). */
export const CLOSE_OF_PAID_ORDER_REASON = 'close-attempt-on-paid-order';

/** A new order, stored as NEW_ORDER before UMS is called, so a crash leaves a trace. */
export interface NewOrder {
  merOrderId: string;
  totalAmount: number;
  mid: string;
  tid: string;
  channel?: string;
  instMid?: string;
  description?: string;
  expireTime?: Date;
  /** When the sync scheduler should first ask UMS about it. */
  nextSyncAt?: Date;
}

/**
 * Stores a new order as NEW_ORDER, version 1, with its first event (source MUTATION).
 * Throws PaymentError CONFLICT when the merOrderId already exists.
 */
export async function insertNewOrder(db: Database, order: NewOrder): Promise<{ payment: PaymentRow; event: PaymentEventRow }> {
  return db.transaction(async (tx) => {
    const now = new Date();
    const [payment] = await tx
      .insert(payments)
      .values({
        merOrderId: order.merOrderId,
        status: 'NEW_ORDER',
        version: 1,
        channel: order.channel ?? null,
        totalAmount: order.totalAmount,
        mid: order.mid,
        tid: order.tid,
        instMid: order.instMid ?? null,
        description: order.description ?? null,
        expireTime: order.expireTime ?? null,
        nextSyncAt: order.nextSyncAt ?? null,
        lastEventAt: now,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: payments.merOrderId })
      .returning();
    if (!payment) {
      throw new PaymentError('CONFLICT', `a payment with merOrderId ${order.merOrderId} already exists`, {
        merOrderId: order.merOrderId,
      });
    }
    const event = await appendEvent(tx, payment, null, 'MUTATION', 'created', {});
    return { payment, event };
  });
}

/**
 * `applyReportInTransaction` in a transaction of its own (a savepoint when `db` is one).
 * Pass `{ onlyIfOpen: true }` for a change decided locally (see ApplyOptions.onlyIfOpen).
 */
export async function applyReport(
  db: Database,
  report: StatusReport,
  source: EventSource,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  return db.transaction((tx) => applyReportInTransaction(tx, report, source, options));
}

/**
 * Applies a report inside the caller's transaction: lock the row, cross-check it, decide, write.
 * An order we never created becomes a new payment flagged for review (money moved: we must know).
 */
export async function applyReportInTransaction(
  tx: Transaction,
  report: StatusReport,
  source: EventSource,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  let current = await lockPayment(tx, report.merOrderId);
  if (!current) {
    const created = await createFromReport(tx, report, source, options);
    if (created) return created;
    // Another transaction created it between our look and our insert; it is committed now.
    current = await lockPayment(tx, report.merOrderId);
    if (!current) throw new Error(`payment ${report.merOrderId} vanished while being created`);
  }

  if (options.onlyIfOpen && !isOpen(current.status as PaymentStatus)) return refuseNotOpen(tx, current);

  const mismatch = crossCheck(current, report);
  if (mismatch) return flagForReview(tx, current, mismatch);

  // Money went back but the report names no refund at all: we cannot count it once, so a person must.
  if (report.unidentifiedRefundAmount !== undefined) return flagForReview(tx, current, REFUND_WITHOUT_ID);

  const found = report.refund ? await findRefund(tx, current.merOrderId, report.refund) : undefined;
  const refund = found?.refund;
  const existingRefund = found?.existing;
  if (existingRefund && existingRefund.merOrderId !== current.merOrderId) {
    return flagForReview(tx, current, REFUND_OF_ANOTHER_ORDER);
  }
  const refundStatus: RefundStatus = refund?.status ?? 'SUCCESS';
  // Counted or not is the refund row's own fact, not its status: a refund we had marked FAIL may
  // still be reported SUCCESS (money moved after all), and must then be counted exactly once.
  const markCounted = refund !== undefined && refundStatus === 'SUCCESS' && !existingRefund?.countedAt;
  // Its money may already be in refundedAmount under the synthetic id of a notice that lacked ours.
  const newRefund = markCounted && !found?.countedAsTwin;
  const succeededAfterFail = newRefund && existingRefund?.status === 'FAIL';
  const maybeTwice = newRefund && refund !== undefined && (await mayBeCountedTwice(tx, current.merOrderId, refund, existingRefund));

  const from = current.status as PaymentStatus;
  const wasPaid = await wasEverPaid(tx, current);
  const decision = decideTransition(from, report.status, { wasPaid, newRefund });

  if (decision.kind === 'review') return flagForReview(tx, current, decision.reason);
  if (decision.kind !== 'apply' && !newRefund) {
    if (refund) await upsertRefund(tx, current.merOrderId, refund, existingRefund, markCounted);
    const filled = await fillMissingFields(tx, current, report);
    return { outcome: decision.kind, reason: decision.reason, payment: filled };
  }
  // Counting a refund UMS says succeeded is separate from the status decision: a report whose
  // status is a duplicate or stale (TRADE_CLOSED again, after a full refund) may still carry a
  // refund we have not counted. Count it; the status stays. Money back on an order never paid
  // is not counted automatically.
  if (decision.kind !== 'apply' && !wasPaid) return flagForReview(tx, current, REFUND_ON_UNPAID_ORDER);
  const applying = decision.kind === 'apply';
  const next = applying ? decision.next : from;
  const reason = applying ? decision.reason : REFUND_COUNTED_REASON;

  const counted = newRefund && refund ? (existingRefund?.refundAmount ?? refund.refundAmount) : 0;
  // A sum the column cannot hold would throw, roll back and fail every retry: a person looks instead.
  if (current.refundedAmount + counted > MAX_STORABLE_FEN) return flagForReview(tx, current, REFUNDED_AMOUNT_OVERFLOW);
  if (refund) await upsertRefund(tx, current.merOrderId, refund, existingRefund, markCounted);
  const now = new Date();
  const [payment] = await tx
    .update(payments)
    .set({
      // A stale report may only fill what we lack; an applied one brings its fields.
      ...(applying ? reportedFields(current, report) : missingFields(current, report)),
      status: next,
      version: sql`${payments.version} + 1`,
      refundedAmount: sql`${payments.refundedAmount} + ${counted}`,
      ...reviewAfterCounting(current, counted, succeededAfterFail, maybeTwice),
      nextSyncAt: applying ? nextSyncAfter(next, decision.reason, current.nextSyncAt, now) : current.nextSyncAt,
      lastEventAt: now,
      updatedAt: now,
    })
    .where(eq(payments.merOrderId, current.merOrderId))
    .returning()
    .prepare('ledger_apply_payment')
    .execute();
  if (!payment) throw new Error(`payment ${current.merOrderId} vanished while locked`);
  const event = await appendEvent(tx, payment, from, source, reason, options);
  return { outcome: 'applied', reason, payment, event };
}

/**
 * The change a report makes on a locked row when nothing but the row is at stake: the decision
 * is `apply`, the report carries no refund (so nothing is counted and nothing needs review), the
 * identity matches, and whether the order was ever paid shows on the row itself. Undefined
 * otherwise: the report must then go through applyReportInTransaction, which may read more.
 *
 * The planned row is exactly what applyReportInTransaction would write for such a report (same
 * fields, version + 1, same next sync, same event), so a caller may write many at once.
 */
export function planForwardMove(current: PaymentRow, report: StatusReport, source: EventSource, payload: unknown, now: Date): ForwardMove | undefined {
  if (report.refund !== undefined || report.unidentifiedRefundAmount !== undefined) return undefined;
  if (crossCheck(current, report) !== undefined) return undefined;
  const wasPaid = paidAsTheRowShows(current);
  if (wasPaid === undefined) return undefined;
  const from = current.status as PaymentStatus;
  const decision = decideTransition(from, report.status, { wasPaid, newRefund: false });
  if (decision.kind !== 'apply') return undefined;
  const payment: PaymentRow = {
    ...current,
    ...reportedFields(current, report),
    status: decision.next,
    version: current.version + 1,
    nextSyncAt: nextSyncAfter(decision.next, decision.reason, current.nextSyncAt, now),
    lastEventAt: now,
    updatedAt: now,
  };
  return { payment, previousStatus: from, source, reason: decision.reason, payload };
}

/** Records a refund request (PROCESSING) before UMS is asked, so a crash leaves a trace. */
export async function insertRefundRequest(
  db: Database,
  refund: { refundOrderId: string; merOrderId: string; refundAmount: number; description?: string; nextSyncAt?: Date },
): Promise<RefundRow> {
  const [row] = await db
    .insert(refunds)
    .values({
      refundOrderId: refund.refundOrderId,
      merOrderId: refund.merOrderId,
      refundAmount: refund.refundAmount,
      status: 'PROCESSING',
      description: refund.description ?? null,
      nextSyncAt: refund.nextSyncAt ?? null,
    })
    .onConflictDoNothing({ target: refunds.refundOrderId })
    .returning();
  if (!row) {
    throw new PaymentError('CONFLICT', `a refund with refundOrderId ${refund.refundOrderId} already exists`, {
      merOrderId: refund.merOrderId,
      refundOrderId: refund.refundOrderId,
    });
  }
  return row;
}

/**
 * Sets when the sync scheduler should next ask UMS about an order (null: no need). Scheduling
 * only: no version, no event, `updatedAt` unchanged. Accepts a transaction (it is a Database).
 */
export async function scheduleSync(
  db: Database,
  merOrderId: string,
  nextSyncAt: Date | null,
  syncAttempts?: number,
): Promise<void> {
  await db
    .update(payments)
    .set(syncAttempts === undefined ? { nextSyncAt } : { nextSyncAt, syncAttempts })
    .where(eq(payments.merOrderId, merOrderId));
}

/** Sets when the sync scheduler should next ask UMS about a refund; status and amounts untouched. */
export async function scheduleRefundSync(db: Database, refundOrderId: string, nextSyncAt: Date | null): Promise<void> {
  await db.update(refunds).set({ nextSyncAt }).where(eq(refunds.refundOrderId, refundOrderId));
}

// ---------------------------------------------------------------------------------------------

async function lockPayment(tx: Transaction, merOrderId: string): Promise<PaymentRow | undefined> {
  const [row] = await tx.select().from(payments).where(eq(payments.merOrderId, merOrderId)).for('update').prepare('ledger_lock_payment').execute();
  return row;
}

async function lockRefund(tx: Transaction, refundOrderId: string): Promise<RefundRow | undefined> {
  const [row] = await tx.select().from(refunds).where(eq(refunds.refundOrderId, refundOrderId)).for('update');
  return row;
}

type ReportedRefund = NonNullable<StatusReport['refund']>;

/**
 * The refund row a report is about. One refund may reach us under two ids: ours (refundOrderId)
 * and a synthetic one (`ums:…`) from a notice that did not carry ours; UMS's refundTargetOrderId
 * ties them. A synthetic report about a refund we know under our id is about that row;
 * `countedAsTwin` says that our row's money was already counted under the synthetic id.
 */
async function findRefund(
  tx: Transaction,
  merOrderId: string,
  refund: ReportedRefund,
): Promise<{ refund: ReportedRefund; existing: RefundRow | undefined; countedAsTwin: boolean }> {
  const existing = await lockRefund(tx, refund.refundOrderId);
  const target = refund.refundTargetOrderId ?? existing?.refundTargetOrderId ?? undefined;
  if (target === undefined || existing?.countedAt) return { refund, existing, countedAsTwin: false };
  const twins = await tx
    .select()
    .from(refunds)
    .where(and(eq(refunds.merOrderId, merOrderId), eq(refunds.refundTargetOrderId, target), ne(refunds.refundOrderId, refund.refundOrderId)))
    .for('update');
  const synthetic = isSyntheticRefundId(refund.refundOrderId);
  const ours = twins.find((t) => !isSyntheticRefundId(t.refundOrderId));
  if (synthetic && ours && !existing) return { refund: { ...refund, refundOrderId: ours.refundOrderId }, existing: ours, countedAsTwin: false };
  const countedAsTwin = !synthetic && twins.some((t) => isSyntheticRefundId(t.refundOrderId) && t.countedAt !== null);
  return { refund, existing, countedAsTwin };
}

/**
 * mid, tid and totalAmount must match what we stored; a mismatch is kept and flagged, not applied.
 * A field we never knew (an order first seen in a report that lacked it: '' or 0) is not checked;
 * the report fills it (`unknownIdentity`).
 */
function crossCheck(current: PaymentRow, report: StatusReport): string | undefined {
  const wrong: string[] = [];
  if (report.mid !== undefined && current.mid !== UNKNOWN_TEXT && report.mid !== current.mid) wrong.push('mid');
  if (report.tid !== undefined && current.tid !== UNKNOWN_TEXT && report.tid !== current.tid) wrong.push('tid');
  if (report.totalAmount !== undefined && current.totalAmount !== UNKNOWN_AMOUNT && report.totalAmount !== current.totalAmount) {
    wrong.push('totalAmount');
  }
  return wrong.length > 0 ? `mismatch:${wrong.join(',')}` : undefined;
}

/** Whether the order was ever paid, as far as the row tells; undefined for a closed order with no trace on it. */
function paidAsTheRowShows(current: PaymentRow): boolean | undefined {
  if (current.payTime !== null || current.refundedAmount > 0) return true;
  if (STATUS_RANK[current.status as PaymentStatus] === STATUS_RANK.TRADE_SUCCESS) return true;
  if (current.status === 'TRADE_REFUND') return true;
  if (current.status !== 'TRADE_CLOSED') return false;
  return undefined;
}

/** Closed orders need a closer look: were they ever paid (closed after a full refund)? */
async function wasEverPaid(tx: Transaction, current: PaymentRow): Promise<boolean> {
  const shown = paidAsTheRowShows(current);
  if (shown !== undefined) return shown;
  const [paid] = await tx
    .select({ id: paymentEvents.id })
    .from(paymentEvents)
    .where(and(eq(paymentEvents.merOrderId, current.merOrderId), sql`${paymentEvents.status} in ('TRADE_SUCCESS', 'TRADE_REFUND')`))
    .limit(1);
  return paid !== undefined;
}

async function flagForReview(tx: Transaction, current: PaymentRow, reason: string): Promise<ApplyResult> {
  const now = new Date();
  const [payment] = await tx
    .update(payments)
    .set({ needsReview: true, reviewReason: reason, lastEventAt: now, updatedAt: now, nextSyncAt: now })
    .where(eq(payments.merOrderId, current.merOrderId))
    .returning();
  return { outcome: 'review', reason, payment: payment ?? current };
}

/**
 * A refund about to be counted that nothing ties to the refunds already stored for the order, so
 * it may be one of them under a second id (counted, but a person must look):
 * - a synthetic one identified only by its notifyId (`ums:notify:…`), which never ties to anything;
 * - a synthetic one while the order has refunds of ours with no refundTargetOrderId (not FAIL);
 * - one of ours without refundTargetOrderId while the order has counted synthetic ones.
 */
async function mayBeCountedTwice(tx: Transaction, merOrderId: string, refund: ReportedRefund, existing: RefundRow | undefined): Promise<boolean> {
  const synthetic = isSyntheticRefundId(refund.refundOrderId);
  if (synthetic && refund.refundOrderId.startsWith(`${SYNTHETIC_REFUND_PREFIX}notify:`)) return true;
  if (!synthetic && (refund.refundTargetOrderId ?? existing?.refundTargetOrderId)) return false;
  const others = await tx
    .select({ refundOrderId: refunds.refundOrderId, status: refunds.status, countedAt: refunds.countedAt, target: refunds.refundTargetOrderId })
    .from(refunds)
    .where(and(eq(refunds.merOrderId, merOrderId), ne(refunds.refundOrderId, refund.refundOrderId)));
  if (synthetic) return others.some((o) => !isSyntheticRefundId(o.refundOrderId) && o.target === null && o.status !== 'FAIL');
  return others.some((o) => isSyntheticRefundId(o.refundOrderId) && o.countedAt !== null);
}

/** Counted money a person must look at: a refund we had as failed, or more back than was paid. */
function reviewAfterCounting(
  current: PaymentRow,
  counted: number,
  succeededAfterFail: boolean,
  maybeTwice: boolean,
): Partial<typeof payments.$inferInsert> {
  // We had recorded this refund as failed, yet UMS says the money went back.
  if (succeededAfterFail) return { needsReview: true, reviewReason: REFUND_SUCCEEDED_AFTER_FAIL };
  if (maybeTwice) return { needsReview: true, reviewReason: REFUND_POSSIBLY_COUNTED_TWICE };
  // One refund counted under two ids, or amounts we never knew: the sum cannot exceed the order.
  if (counted > 0 && current.totalAmount > 0 && current.refundedAmount + counted > current.totalAmount) {
    return { needsReview: true, reviewReason: REFUNDED_MORE_THAN_PAID };
  }
  return {};
}

/** `onlyIfOpen` and the payment has moved on: apply nothing; a paid order also needs a person. */
async function refuseNotOpen(tx: Transaction, current: PaymentRow): Promise<ApplyResult> {
  const paid = isPaidStatus(current.status);
  const payment = paid ? (await flagForReview(tx, current, CLOSE_OF_PAID_ORDER_REASON)).payment : current;
  return { outcome: 'stale', reason: NOT_OPEN_REASON, payment };
}

async function createFromReport(
  tx: Transaction,
  report: StatusReport,
  source: EventSource,
  options: ApplyOptions,
): Promise<ApplyResult | undefined> {
  const now = new Date();
  // Refund ids are global (ours, and the synthetic `ums:…` ones): one already stored under another
  // order is not this order's to insert or count (the insert would hit the primary key, roll the
  // notification back and have UMS retry forever). The payment is stored; a person looks.
  const elsewhere = report.refund ? await lockRefund(tx, report.refund.refundOrderId) : undefined;
  const refund = elsewhere ? undefined : report.refund;
  const reviewReason = elsewhere ? REFUND_OF_ANOTHER_ORDER : 'unknown-order';
  const refundSucceeded = refund !== undefined && (refund.status ?? 'SUCCESS') === 'SUCCESS';
  const [payment] = await tx
    .insert(payments)
    .values({
      merOrderId: report.merOrderId,
      status: report.status,
      version: 1,
      totalAmount: report.totalAmount ?? UNKNOWN_AMOUNT,
      mid: report.mid ?? UNKNOWN_TEXT,
      tid: report.tid ?? UNKNOWN_TEXT,
      instMid: report.instMid ?? null,
      targetOrderId: report.targetOrderId ?? null,
      targetSys: report.targetSys ?? null,
      seqId: report.seqId ?? null,
      payTime: report.payTime ?? null,
      settleDate: report.settleDate ?? null,
      buyerPayAmount: report.buyerPayAmount ?? null,
      receiptAmount: report.receiptAmount ?? null,
      refundedAmount: refundSucceeded && refund ? refund.refundAmount : 0,
      needsReview: true,
      reviewReason,
      nextSyncAt: isOpen(report.status) ? now : null,
      lastEventAt: now,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing({ target: payments.merOrderId })
    .returning();
  if (!payment) return undefined;
  if (refund) await upsertRefund(tx, payment.merOrderId, refund, undefined, refundSucceeded);
  const event = await appendEvent(tx, payment, null, source, reviewReason, options);
  return { outcome: 'created', reason: reviewReason, payment, event };
}

/**
 * What an order first seen in a report stores for identity fields the report lacked (the columns
 * are NOT NULL). Orders we create always have them: UMS amounts are at least 1 fen.
 */
const UNKNOWN_TEXT = '';
const UNKNOWN_AMOUNT = 0;

/** mid, tid and totalAmount we never knew and this report brings: filled on first sight. */
function unknownIdentity(current: PaymentRow, report: StatusReport): Partial<typeof payments.$inferInsert> {
  return {
    ...(current.mid === UNKNOWN_TEXT && report.mid ? { mid: report.mid } : {}),
    ...(current.tid === UNKNOWN_TEXT && report.tid ? { tid: report.tid } : {}),
    ...(current.totalAmount === UNKNOWN_AMOUNT && report.totalAmount ? { totalAmount: report.totalAmount } : {}),
  };
}

/** Non-status fields a report may bring; present values win, absent ones keep what we have. */
function reportedFields(current: PaymentRow, report: StatusReport): Partial<typeof payments.$inferInsert> {
  return {
    ...unknownIdentity(current, report),
    instMid: report.instMid ?? current.instMid,
    targetOrderId: report.targetOrderId ?? current.targetOrderId,
    targetSys: report.targetSys ?? current.targetSys,
    seqId: report.seqId ?? current.seqId,
    payTime: report.payTime ?? current.payTime,
    settleDate: report.settleDate ?? current.settleDate,
    buyerPayAmount: report.buyerPayAmount ?? current.buyerPayAmount,
    receiptAmount: report.receiptAmount ?? current.receiptAmount,
  };
}

/** The reported fields we lack (null so far); values we have are never replaced by a stale report. */
function missingFields(current: PaymentRow, report: StatusReport): Partial<typeof payments.$inferInsert> {
  const fields = reportedFields(current, report);
  return {
    ...Object.fromEntries(
      Object.entries(fields).filter(([name, value]) => value !== null && value !== undefined && current[name as keyof PaymentRow] === null),
    ),
    ...unknownIdentity(current, report),
  };
}

/** A duplicate may still carry a field we lacked (a query answer after the notice): keep it. */
async function fillMissingFields(tx: Transaction, current: PaymentRow, report: StatusReport): Promise<PaymentRow> {
  const missing = missingFields(current, report);
  if (Object.keys(missing).length === 0) return current;
  const [payment] = await tx
    .update(payments)
    .set({ ...missing, updatedAt: new Date() })
    .where(eq(payments.merOrderId, current.merOrderId))
    .returning();
  return payment ?? current;
}

/**
 * Stores what a report says about a refund. `countNow`: this very write adds the refund to the
 * payment's refundedAmount, so the row becomes SUCCESS and is marked counted here; a SUCCESS row
 * is therefore always a counted one.
 */
async function upsertRefund(
  tx: Transaction,
  merOrderId: string,
  refund: NonNullable<StatusReport['refund']>,
  existing: RefundRow | undefined,
  countNow: boolean,
): Promise<void> {
  const incoming: RefundStatus = refund.status ?? 'SUCCESS';
  const now = new Date();
  const counted = countNow ? { status: 'SUCCESS' as const, countedAt: now } : undefined;
  if (!existing) {
    const status = counted?.status ?? incoming;
    await tx.insert(refunds).values({
      refundOrderId: refund.refundOrderId,
      merOrderId,
      refundAmount: refund.refundAmount,
      status,
      countedAt: counted?.countedAt ?? null,
      refundTargetOrderId: refund.refundTargetOrderId ?? null,
      nextSyncAt: PENDING_REFUND_STATUSES.includes(status) ? now : null,
      createdAt: now,
      updatedAt: now,
    });
    return;
  }
  // SUCCESS and FAIL are final (§6.1): a late PROCESSING must not undo them. Only a counted
  // SUCCESS may replace a FAIL (handled by `counted`).
  const final = existing.status === 'SUCCESS' || existing.status === 'FAIL';
  const status = counted?.status ?? (final ? existing.status : incoming);
  const settled = status === 'SUCCESS' || status === 'FAIL';
  await tx
    .update(refunds)
    .set({
      status,
      ...(counted ? { countedAt: counted.countedAt } : {}),
      refundTargetOrderId: refund.refundTargetOrderId ?? existing.refundTargetOrderId,
      nextSyncAt: settled ? null : existing.nextSyncAt,
      updatedAt: now,
    })
    .where(eq(refunds.refundOrderId, existing.refundOrderId));
}

/** Open orders keep the scheduler's plan; settled ones need no query, unless a notice was lost. */
function nextSyncAfter(next: PaymentStatus, reason: TransitionReason, planned: Date | null, now: Date): Date | null {
  if (reason === 'refund-without-success') return now;
  return isOpen(next) ? planned : null;
}

/** PaymentStatusNotice as JSON, built by Postgres from the inserted event row. */
const noticeSql = sql<string>`pg_notify(${PAYMENT_STATUS_CHANNEL}, json_build_object('merOrderId', ${paymentEvents.merOrderId}, 'version', ${paymentEvents.version}, 'eventId', ${paymentEvents.id})::text)::text`;

async function appendEvent(
  tx: Transaction,
  payment: PaymentRow,
  previousStatus: string | null,
  source: EventSource,
  reason: string,
  options: ApplyOptions,
): Promise<PaymentEventRow> {
  // pg_notify rides on the insert's RETURNING: one round trip instead of two on the hot path.
  const [inserted] = await tx
    .insert(paymentEvents)
    .values({
      merOrderId: payment.merOrderId,
      source,
      previousStatus,
      status: payment.status,
      version: payment.version,
      reason,
      notificationId: options.notificationId ?? null,
      payload: options.payload ?? null,
      at: payment.updatedAt,
    })
    .returning({ ...getTableColumns(paymentEvents), notified: noticeSql })
    .prepare('ledger_append_event')
    .execute();
  if (!inserted) throw new Error('payment_events insert returned nothing');
  const { notified: _notified, ...event } = inserted;
  return event;
}

/**
 * Flags a payment for an operator when something outside a report needs a person (e.g. a refund
 * UMS will not settle). An operator flag, not payment state: no status change, no version, no
 * event. An earlier reason is kept: the first anomaly is usually the one to look at.
 */
export async function flagPaymentForReview(db: Database, merOrderId: string, reason: string): Promise<void> {
  await db
    .update(payments)
    .set({
      needsReview: true,
      reviewReason: sql`case when ${payments.needsReview} and ${payments.reviewReason} is not null then ${payments.reviewReason} else ${reason} end`,
      updatedAt: new Date(),
    })
    .where(eq(payments.merOrderId, merOrderId));
}
