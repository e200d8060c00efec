/**
 * resolveReview: an operator closes a review case (CONTRACT.md "Operator workflows").
 *
 * - DISMISS: a false alarm. The flag is cleared; UMS is not asked.
 * - ACCEPT: the payment stands as UMS has it. UMS is asked (the same query as syncPayment); when
 *   UMS reports it paid and the ledger does not (paid after a close, an amount that disagreed),
 *   it is recorded paid (TRADE_SUCCESS; UMS's amount in buyerPayAmount, totalAmount unchanged:
 *   amounts are never rewritten). Then the flag is cleared.
 * - REFUND: what is left of the payment at UMS (paid minus refunded, as UMS reports it, and no
 *   more than the ledger still holds refundable) is refunded first, through the refund command,
 *   under an Idempotency-Key derived from the case (`review-refund:<merOrderId>:<case>`, in an
 *   idempotency namespace of its own that no caller's key reaches), with the acting key as actor: running
 *   it again, after a crash or concurrently, sends the same refundOrderId, which the refund command
 *   and UMS deduplicate, so the money goes back once. Then the flag is cleared.
 *
 * Each resolution ends with one OPERATOR event (version + 1) whose reason carries the note and
 * whose actor is the acting key. A payment not under review is refused (CONFLICT), nothing changed.
 */
import type { PaymentRow, RefundRow } from '../../db/schema.js';
import { badInput } from '../errors.js';
import { acceptReportedPayment, paymentUnderReview, recordResolution, type ReviewResolution } from '../ledger.js';
import { isPaidStatus } from '../status.js';
import type { CommandDeps } from './deps.js';
import { refundPayment } from './refund.js';
import { askUms, type UmsAnswer } from './sync.js';

/** Longest note kept on the event. */
export const MAX_REVIEW_NOTE = 500;

export interface ResolveReviewInput {
  merOrderId: string;
  resolution: ReviewResolution;
  note: string;
  /** Who acts (the event's actor): a key's actor, or `system` for an automatic policy. */
  actor: string;
  /** The merchant the caller acts for; undefined: any. */
  merchantId?: string | undefined;
}

export async function resolveReview(deps: CommandDeps, input: ResolveReviewInput): Promise<PaymentRow> {
  const note = checkNote(input.note);
  const { payment, caseNumber } = await paymentUnderReview(deps.db, input.merOrderId, input.merchantId);
  let details: Record<string, unknown> = {};
  if (input.resolution !== 'DISMISS') {
    const answer = await askUms(deps, payment);
    const current = await acceptIfPaidAtUms(deps, payment, answer, input);
    if (input.resolution === 'REFUND') details = await refundWhatIsLeft(deps, current, answer, caseNumber, input);
  }
  const { payment: resolved } = await recordResolution(deps.db, {
    merOrderId: input.merOrderId,
    resolution: input.resolution,
    note,
    actor: input.actor,
    merchantId: input.merchantId,
    details: { case: caseNumber, ...details },
  });
  deps.log?.info({ merOrderId: input.merOrderId, resolution: input.resolution, case: caseNumber, actor: input.actor }, 'review resolved');
  return resolved;
}

function checkNote(raw: unknown): string {
  const note = typeof raw === 'string' ? raw.trim() : '';
  if (note === '' || note.length > MAX_REVIEW_NOTE) throw badInput('note', `note must be 1 to ${MAX_REVIEW_NOTE} characters`);
  // Control characters would make the audit trail lie about what was written (line breaks aside).
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(note)) throw badInput('note', 'note must not contain control characters');
  return note;
}

/** UMS has it paid, the ledger does not: recorded paid as UMS reports it (an OPERATOR event). */
async function acceptIfPaidAtUms(deps: CommandDeps, payment: PaymentRow, answer: UmsAnswer, input: ResolveReviewInput): Promise<PaymentRow> {
  if (answer.kind !== 'report' || !isPaidStatus(answer.report.status) || isPaidStatus(payment.status)) return payment;
  return acceptReportedPayment(deps.db, answer.report, input.actor, input.merchantId);
}

/** Refunds paid-minus-refunded at UMS (capped by what the ledger holds refundable); {} when nothing is left. */
async function refundWhatIsLeft(deps: CommandDeps, payment: PaymentRow, answer: UmsAnswer, caseNumber: number, input: ResolveReviewInput): Promise<Record<string, unknown>> {
  if (answer.kind !== 'report' || !isPaidStatus(answer.report.status)) return { refunded: 0 };
  const umsPaid = answer.report.totalAmount ?? payment.totalAmount;
  // Bills answers carry no refunded sum: the ledger's count stands in for it.
  const umsRefunded = answer.umsRefunded ?? payment.refundedAmount;
  const left = Math.min(umsPaid - umsRefunded, payment.totalAmount - payment.refundedAmount);
  if (left <= 0) return { refunded: 0 };
  const refund: RefundRow = await refundPayment(
    deps,
    { merOrderId: payment.merOrderId, refundAmount: left, description: `review refund ${caseNumber}` },
    // The acting key is the refund's actor too; the key is in resolveReview's own namespace.
    { idempotencyKey: `review-refund:${payment.merOrderId}:${caseNumber}`, actor: input.actor, ...(input.merchantId !== undefined ? { merchantId: input.merchantId } : {}) },
    'reviewRefund',
  );
  return { refunded: left, refundOrderId: refund.refundOrderId, refundStatus: refund.status };
}
