/**
 * The ledger's side of the review queue: an operator's decision on a flagged payment
 * (resolveReview) is a change like any other: it bumps `version`, appends a payment_events row
 * with source OPERATOR and the acting key as `actor`, and sends the change notice, all in one
 * transaction with the payment row locked. Its status may equal the previous one.
 *
 * A case is one stretch of `needs_review = true`: the flag raised again after a resolution (the
 * ledger raises it whenever something new must not be applied silently) is a new case, numbered
 * by the resolutions recorded before it, which is what makes REFUND's refund id per case.
 */
import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/database.js';
import { paymentEvents, payments, type PaymentEventRow, type PaymentRow } from '../../db/schema.js';
import { noticeSql } from '../../events/notice.js';
import { PaymentError } from '../errors.js';
import { isPaidStatus } from '../status.js';
import { REPORTED_FIELDS } from './rows.js';
import { eventValues } from './rows.js';
import type { StatusReport } from './types.js';

export const REVIEW_RESOLUTIONS = ['ACCEPT', 'REFUND', 'DISMISS'] as const;
export type ReviewResolution = (typeof REVIEW_RESOLUTIONS)[number];

/** The payload `kind` of a resolution event (what case numbers count). */
const RESOLUTION_KIND = 'review-resolution';
/** Reason of the event that records a payment UMS reports paid, accepted by an operator. */
export const ACCEPTED_PAYMENT_REASON = 'operator-accepted-ums-payment';

export interface Resolution {
  merOrderId: string;
  resolution: ReviewResolution;
  note: string;
  actor: string;
  /** The merchant the caller may act for; undefined: any. Another merchant's payment is NOT_FOUND. */
  merchantId?: string | undefined;
  /** What the resolution did beyond clearing the flag (a refund id), kept on the event. */
  details?: Record<string, unknown>;
}

/** The payment as it stands, checked: it exists for this caller and is under review. */
export async function paymentUnderReview(db: Database, merOrderId: string, merchantId?: string): Promise<{ payment: PaymentRow; caseNumber: number }> {
  const [payment] = await db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
  checkUnderReview(payment, merOrderId, merchantId);
  return { payment: payment!, caseNumber: await caseNumberOf(db, merOrderId) };
}

/** 1 for the first case of a payment, 2 once one resolution was recorded, … */
async function caseNumberOf(db: Database, merOrderId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(paymentEvents)
    .where(and(eq(paymentEvents.merOrderId, merOrderId), eq(paymentEvents.source, 'OPERATOR'), sql`${paymentEvents.payload} ->> 'kind' = ${RESOLUTION_KIND}`));
  return (row?.n ?? 0) + 1;
}

function checkUnderReview(payment: PaymentRow | undefined, merOrderId: string, merchantId: string | undefined): asserts payment is PaymentRow {
  if (!payment || (merchantId !== undefined && payment.merchantId !== merchantId)) {
    throw new PaymentError('NOT_FOUND', `no payment with merOrderId ${merOrderId}`, { merOrderId });
  }
  if (!payment.needsReview) {
    throw new PaymentError('CONFLICT', `payment ${merOrderId} is not under review (nothing to resolve)`, { merOrderId });
  }
}

/**
 * Records a payment that UMS reports paid while the ledger does not have it paid (paid after a
 * close, an amount that disagreed): an operator accepted it. The status becomes TRADE_SUCCESS with
 * UMS's pay fields (its amount lands in buyerPayAmount; totalAmount stays as ordered); the flag
 * stays until the resolution itself. Nothing happens when the payment is paid already.
 */
export async function acceptReportedPayment(db: Database, report: StatusReport, actor: string, merchantId?: string): Promise<PaymentRow> {
  return db.transaction(async (tx) => {
    const current = await lock(tx, report.merOrderId);
    checkUnderReview(current, report.merOrderId, merchantId);
    if (isPaidStatus(current.status)) return current;
    const reported = Object.fromEntries(REPORTED_FIELDS.map((name) => [name, report[name] ?? current[name]]));
    const now = new Date();
    const [payment] = await tx
      .update(payments)
      .set({ ...reported, status: 'TRADE_SUCCESS', version: sql`${payments.version} + 1`, nextSyncAt: null, lastEventAt: now, updatedAt: now })
      .where(eq(payments.merOrderId, current.merOrderId))
      .returning();
    if (!payment) throw new Error(`payment ${current.merOrderId} vanished while locked`);
    await appendOperatorEvent(tx, payment, current.status, ACCEPTED_PAYMENT_REASON, { kind: 'accepted-payment', umsStatus: report.status, umsTotalAmount: report.totalAmount ?? null }, actor);
    return payment;
  });
}

/** Clears the flag and records the decision: version + 1, an OPERATOR event carrying the note. */
export async function recordResolution(db: Database, resolution: Resolution): Promise<{ payment: PaymentRow; event: PaymentEventRow }> {
  return db.transaction(async (tx) => {
    const current = await lock(tx, resolution.merOrderId);
    checkUnderReview(current, resolution.merOrderId, resolution.merchantId);
    const now = new Date();
    const [payment] = await tx
      .update(payments)
      .set({ needsReview: false, reviewReason: null, version: sql`${payments.version} + 1`, lastEventAt: now, updatedAt: now })
      .where(eq(payments.merOrderId, current.merOrderId))
      .returning();
    if (!payment) throw new Error(`payment ${current.merOrderId} vanished while locked`);
    const event = await appendOperatorEvent(
      tx,
      payment,
      current.status,
      `${resolution.resolution}: ${resolution.note}`,
      { kind: RESOLUTION_KIND, resolution: resolution.resolution, note: resolution.note, reviewReason: current.reviewReason, ...resolution.details },
      resolution.actor,
    );
    return { payment, event };
  });
}

async function lock(tx: Transaction, merOrderId: string): Promise<PaymentRow | undefined> {
  const [row] = await tx.select().from(payments).where(eq(payments.merOrderId, merOrderId)).for('update');
  return row;
}

const eventNotice = noticeSql({ merOrderId: paymentEvents.merOrderId, version: paymentEvents.version, eventId: paymentEvents.id });

async function appendOperatorEvent(tx: Transaction, payment: PaymentRow, previousStatus: string, reason: string, payload: unknown, actor: string): Promise<PaymentEventRow> {
  const [inserted] = await tx
    .insert(paymentEvents)
    .values(eventValues(payment, previousStatus, 'OPERATOR', reason, null, payload, actor))
    .returning({ ...getTableColumns(paymentEvents), notified: eventNotice });
  if (!inserted) throw new Error('payment_events insert returned nothing');
  const { notified: _notified, ...event } = inserted;
  return event;
}
