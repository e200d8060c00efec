/**
 * Flags a payment for an operator when the sync machinery cannot settle something on its own
 * (a refund whose fate UMS will not tell). `needs_review` / `review_reason` are operator flags,
 * not payment state: no status change, no version, no event. The flag itself is
 * written by the ledger (flagPaymentForReview), the single writer of payments.
 */
import { eq } from 'drizzle-orm';
import type { Database } from '../../db/database.js';
import { payments, refunds, type RefundRow } from '../../db/schema.js';
import { applyReport, flagPaymentForReview } from '../ledger.js';
import type { PaymentStatus } from '../status.js';
import { reportFromRefund } from './reports.js';

/** A refund UMS refused to (re)send although it may have been made: `refund-in-doubt:<refundOrderId>`. */
export const REFUND_IN_DOUBT = 'refund-in-doubt';
/** A refund still pending when the gaps ran out: `refund-unsettled:<refundOrderId>`. */
export const REFUND_UNSETTLED = 'refund-unsettled';

/**
 * A refund still PROCESSING or UNKNOWN when the scheduler's gaps ran out: recorded UNKNOWN (we do
 * not know; refunds have no reason column, so the reason goes on the payment's review flag
 * `refund-unsettled:<refundOrderId>`) and handed to an operator. It stays pending, so its amount
 * stays reserved until a person settles it.
 */
export async function markRefundUnsettled(db: Database, refund: RefundRow): Promise<void> {
  const [payment] = await db.select().from(payments).where(eq(payments.merOrderId, refund.merOrderId));
  if (!payment) return;
  // The payment's status restated (a duplicate for the ledger): only the refund row changes.
  await applyReport(db, reportFromRefund(payment.merOrderId, payment.status as PaymentStatus, refund, undefined, 'UNKNOWN'), 'SYNC', {
    payload: { answer: 'refund-query', refundOrderId: refund.refundOrderId, refundStatus: 'UNKNOWN', gaveUp: true },
  });
  // A notice may have settled it meanwhile (SUCCESS and FAIL are final): then nobody is needed.
  const [now] = await db.select({ status: refunds.status }).from(refunds).where(eq(refunds.refundOrderId, refund.refundOrderId));
  if (now?.status !== 'UNKNOWN') return;
  await flagPaymentForReview(db, refund.merOrderId, `${REFUND_UNSETTLED}:${refund.refundOrderId}`);
}
