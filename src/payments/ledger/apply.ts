/**
 * The ledger's single-report path: the one writer of payment state for one report at a time. Notifications (source NOTIFY), the sync
 * scheduler (SYNC) and GraphQL mutations (MUTATION) all report what they learnt as a
 * `StatusReport`; `applyReport` decides with status.ts and writes, in one transaction, with the
 * payment row locked (SELECT … FOR UPDATE) so that two reports about one order are applied one
 * after the other, never interleaved.
 *
 * Every applied change bumps `version`, appends a payment_events row and sends the change notice
 * (src/events/notice.ts), which Postgres delivers to listeners only when the transaction commits,
 * so subscribers never see a change that was rolled back. The batch of plain forward moves
 * (forward-moves.ts) writes the same rows (rows.ts), many at once.
 *
 * Prepared statements: a Drizzle prepared query is bound to the connection it was built on, and
 * a transaction runs on a connection of its own, so the hot statements are built per call but
 * named (`.prepare(name)`), which makes postgres.js keep them prepared on each connection (the
 * server parses and plans them once). PGlite ignores the name.
 */
import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/database.js';
import { paymentEvents, payments, type PaymentEventRow, type PaymentRow } from '../../db/schema.js';
import { noticeSql } from '../../events/notice.js';
import { definedFields, optional } from '../../lib/objects.js';
import { MAX_STORABLE_FEN } from '../amounts.js';
import { PaymentError } from '../errors.js';
import { decideTransition, isOpen, isPaidStatus, STATUS_RANK, type EventSource, type PaymentStatus, type TransitionReason } from '../status.js';
import { findRefund, lockRefund, mayBeCountedTwice, upsertRefund } from './refunds.js';
import { eventValues, REPORTED_FIELDS } from './rows.js';
import {
  CLOSE_OF_PAID_ORDER_REASON,
  NOT_OPEN_REASON,
  REFUND_AMOUNT_MISMATCH,
  REFUND_COUNTED_REASON,
  REFUND_OF_ANOTHER_ORDER,
  REFUND_ON_UNPAID_ORDER,
  REFUND_POSSIBLY_COUNTED_TWICE,
  REFUND_SUCCEEDED_AFTER_FAIL,
  REFUND_WITHOUT_ID,
  REFUNDED_AMOUNT_OVERFLOW,
  REFUNDED_MORE_THAN_PAID,
  type ApplyOptions,
  type ApplyResult,
  type ForwardMove,
  MerchantMismatch,
  type NewOrder,
  type RefundStatus,
  type StatusReport,
} from './types.js';

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
        ...(order.merchantId === undefined ? {} : { merchantId: order.merchantId }),
        attachedData: order.attachedData ?? null,
        srcReserve: order.srcReserve ?? null,
        metadata: order.metadata ?? null,
        secureTransaction: order.secureTransaction ?? false,
        divisionFlag: order.divisionFlag ?? false,
        platformAmount: order.platformAmount ?? null,
        subOrders: order.subOrders ?? null,
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
    const event = await appendEvent(tx, payment, null, 'MUTATION', 'created', { actor: order.actor });
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

  // A notification verified with one merchant's key never moves another merchant's payment.
  if (report.merchantId !== undefined && report.merchantId !== current.merchantId) throw new MerchantMismatch(current.merOrderId);
  if (options.onlyIfOpen && !isOpen(current.status as PaymentStatus)) return refuseNotOpen(tx, current, source, options);

  const mismatch = crossCheck(current, report);
  if (mismatch) return flagForReview(tx, current, mismatch, source, options);

  // Money went back but the report names no refund at all: we cannot count it once, so a person must.
  if (report.unidentifiedRefundAmount !== undefined) return flagForReview(tx, current, REFUND_WITHOUT_ID, source, options);

  const found = report.refund ? await findRefund(tx, current.merOrderId, report.refund) : undefined;
  const refund = found?.refund;
  const existingRefund = found?.existing;
  if (existingRefund && existingRefund.merOrderId !== current.merOrderId) {
    return flagForReview(tx, current, REFUND_OF_ANOTHER_ORDER, source, options);
  }
  // Our row's amount is what we asked for: a report of another amount is not taken, a person looks.
  if (refund && existingRefund && refund.refundAmount !== existingRefund.refundAmount) {
    return flagForReview(tx, current, REFUND_AMOUNT_MISMATCH, source, options);
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
  // A refund that did not succeed (yet) moved no money: its notice's TRADE_REFUND is no news about
  // the payment, which keeps its status; only the refund row changes.
  const reported = refund && refundStatus !== 'SUCCESS' && report.status === 'TRADE_REFUND' ? from : report.status;
  const wasPaid = await wasEverPaid(tx, current);
  const decision = decideTransition(from, reported, { wasPaid, newRefund });

  if (decision.kind === 'review') return flagForReview(tx, current, decision.reason, source, options);
  if (decision.kind !== 'apply' && !newRefund) {
    const stored = refund ? await upsertRefund(tx, current.merOrderId, refund, existingRefund, markCounted) : undefined;
    const filled = await fillMissingFields(tx, current, report);
    // A refund's own status moved (PROCESSING → FAIL, …) while the payment's did not: an event of its own.
    if (refund && stored?.changed) return refundStatusEvent(tx, filled, { refundOrderId: stored.refundOrderId, refundAmount: stored.refundAmount, status: stored.status }, source, options, decision);
    return { outcome: decision.kind, reason: decision.reason, payment: filled };
  }
  // Counting a refund UMS says succeeded is separate from the status decision: a report whose
  // status is a duplicate or stale (TRADE_CLOSED again, after a full refund) may still carry a
  // refund we have not counted. Count it; the status stays. Money back on an order never paid
  // is not counted automatically.
  if (decision.kind !== 'apply' && !wasPaid) return flagForReview(tx, current, REFUND_ON_UNPAID_ORDER, source, options);
  const applying = decision.kind === 'apply';
  const next = applying ? decision.next : from;
  const reason = applying ? decision.reason : REFUND_COUNTED_REASON;

  const counted = newRefund && refund ? (existingRefund?.refundAmount ?? refund.refundAmount) : 0;
  // A sum the column cannot hold would throw, roll back and fail every retry: a person looks instead.
  if (current.refundedAmount + counted > MAX_STORABLE_FEN) return flagForReview(tx, current, REFUNDED_AMOUNT_OVERFLOW, source, options);
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
  // A counted refund is the change's subject: its event (and webhook) names it as committed.
  const countedRefund = counted > 0 && refund ? { refundOrderId: existingRefund?.refundOrderId ?? refund.refundOrderId, refundAmount: counted, status: 'SUCCESS' } : undefined;
  const event = await appendEvent(tx, payment, from, source, reason, options, countedRefund ? { refund: countedRefund } : {});
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
  // Another merchant's payment: handed back, and refused on the single-report path.
  if (report.merchantId !== undefined && report.merchantId !== current.merchantId) return undefined;
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

// ---------------------------------------------------------------------------------------------

export async function lockPayment(tx: Transaction, merOrderId: string): Promise<PaymentRow | undefined> {
  const [row] = await tx.select().from(payments).where(eq(payments.merOrderId, merOrderId)).for('update').prepare('ledger_lock_payment').execute();
  return row;
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

/**
 * The event of a refund whose status changed with no change to the payment's status or amounts:
 * version + 1, a `refund` event (status = previousStatus), sent as refund.status_changed. The
 * report's own outcome (duplicate, stale) is kept for the notification's record.
 */
async function refundStatusEvent(
  tx: Transaction,
  current: PaymentRow,
  refund: { refundOrderId: string; refundAmount: number; status: string },
  source: EventSource,
  options: ApplyOptions,
  decision: { kind: 'duplicate' | 'stale'; reason: string },
): Promise<ApplyResult> {
  const [payment] = await tx
    .update(payments)
    .set({ version: sql`${payments.version} + 1`, lastEventAt: new Date(), updatedAt: new Date() })
    .where(eq(payments.merOrderId, current.merOrderId))
    .returning();
  if (!payment) throw new Error(`payment ${current.merOrderId} vanished while locked`);
  const event = await appendEvent(tx, payment, current.status, source, `refund-${refund.status.toLowerCase()}`, options, { refund });
  return { outcome: decision.kind, reason: decision.reason, payment, event };
}

/**
 * Flags the locked payment for a person. A new flag is an event (CONTRACT.md "Event feed"): the
 * version grows and a `review` event (status unchanged) is appended, which webhooks send as
 * payment.needs_review. A payment already flagged only has its reason updated.
 */
async function flagForReview(tx: Transaction, current: PaymentRow, reason: string, source: EventSource, options: ApplyOptions): Promise<ApplyResult> {
  const now = new Date();
  const isNew = !current.needsReview;
  const [payment] = await tx
    .update(payments)
    .set({ needsReview: true, reviewReason: reason, lastEventAt: now, updatedAt: now, nextSyncAt: now, ...(isNew ? { version: sql`${payments.version} + 1` } : {}) })
    .where(eq(payments.merOrderId, current.merOrderId))
    .returning();
  if (!payment) return { outcome: 'review', reason, payment: current };
  if (!isNew) return { outcome: 'review', reason, payment };
  const event = await appendEvent(tx, payment, current.status, source, reason, options, { kind: 'review' });
  return { outcome: 'review', reason, payment, event };
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
async function refuseNotOpen(tx: Transaction, current: PaymentRow, source: EventSource, options: ApplyOptions): Promise<ApplyResult> {
  const paid = isPaidStatus(current.status);
  const payment = paid ? (await flagForReview(tx, current, CLOSE_OF_PAID_ORDER_REASON, source, options)).payment : current;
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
      ...(report.merchantId !== undefined ? { merchantId: report.merchantId } : {}),
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
      attachedData: report.attachedData ?? null,
      srcReserve: report.srcReserve ?? null,
      secureStatus: report.secureStatus ?? null,
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
  // Born flagged: a person must look at money we never asked for (payment.needs_review).
  const event = await appendEvent(tx, payment, null, source, reviewReason, options, { kind: 'review' });
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
    ...optional('mid', current.mid === UNKNOWN_TEXT && report.mid ? report.mid : undefined),
    ...optional('tid', current.tid === UNKNOWN_TEXT && report.tid ? report.tid : undefined),
    ...optional('totalAmount', current.totalAmount === UNKNOWN_AMOUNT && report.totalAmount ? report.totalAmount : undefined),
  };
}

/** Non-status fields a report may bring; present values win, absent ones keep what we have. */
function reportedFields(current: PaymentRow, report: StatusReport): Partial<typeof payments.$inferInsert> {
  return {
    ...unknownIdentity(current, report),
    ...Object.fromEntries(REPORTED_FIELDS.map((name) => [name, report[name] ?? current[name]])),
  };
}

/** The reported fields we lack (null so far); values we have are never replaced by a stale report. */
function missingFields(current: PaymentRow, report: StatusReport): Partial<typeof payments.$inferInsert> {
  const lacking = REPORTED_FIELDS.filter((name) => current[name] === null);
  return {
    ...definedFields(Object.fromEntries(lacking.map((name) => [name, report[name]]))),
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

/** Open orders keep the scheduler's plan; settled ones need no query, unless a notice was lost. */
function nextSyncAfter(next: PaymentStatus, reason: TransitionReason, planned: Date | null, now: Date): Date | null {
  if (reason === 'refund-without-success') return now;
  return isOpen(next) ? planned : null;
}

/** The change notice, built by Postgres from the inserted event row. */
const eventNotice = noticeSql({ merOrderId: paymentEvents.merOrderId, version: paymentEvents.version, eventId: paymentEvents.id });

export async function appendEvent(
  tx: Transaction,
  payment: PaymentRow,
  previousStatus: string | null,
  source: EventSource,
  reason: string,
  options: ApplyOptions,
  about: Parameters<typeof eventValues>[7] = {},
): Promise<PaymentEventRow> {
  // pg_notify rides on the insert's RETURNING: one round trip instead of two on the hot path.
  const [inserted] = await tx
    .insert(paymentEvents)
    .values(eventValues(payment, previousStatus, source, reason, options.notificationId ?? null, options.payload, options.actor, about))
    .returning({ ...getTableColumns(paymentEvents), notified: eventNotice })
    .prepare('ledger_append_event')
    .execute();
  if (!inserted) throw new Error('payment_events insert returned nothing');
  const { notified: _notified, ...event } = inserted;
  return event;
}

/**
 * Flags a payment for an operator when something outside a report needs a person (e.g. a refund
 * UMS will not settle). No status change; an earlier reason is kept (the first anomaly is usually
 * the one to look at). A new flag is an event like any change (CONTRACT.md "Event feed"): the
 * version grows and a `review` event (source SYNC, status unchanged) is appended.
 */
export async function flagPaymentForReview(db: Database, merOrderId: string, reason: string): Promise<void> {
  await db.transaction(async (tx) => {
    const current = await lockPayment(tx, merOrderId);
    if (!current) return;
    if (current.needsReview) {
      if (current.reviewReason === null) await tx.update(payments).set({ reviewReason: reason, updatedAt: new Date() }).where(eq(payments.merOrderId, merOrderId));
      return;
    }
    const [payment] = await tx
      .update(payments)
      .set({ needsReview: true, reviewReason: reason, version: sql`${payments.version} + 1`, updatedAt: new Date() })
      .where(eq(payments.merOrderId, merOrderId))
      .returning();
    if (payment) await appendEvent(tx, payment, current.status, 'SYNC', reason, {}, { kind: 'review' });
  });
}
