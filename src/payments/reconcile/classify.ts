/**
 * What one payment's look at UMS means for the run: the kind, what each side says, and the
 * amounts behind the run's totals. Pure: the worker hands in the row as it was before the look,
 * UMS's answer, and what the ledger did with it.
 *
 * - CORRECTED: UMS showed a change we had missed (a lost notification) and the ledger applied it
 *   (source SYNC). Moves between open states (NEW_ORDER → WAIT_BUYER_PAY) are bookkeeping, not
 *   money: they count as MATCHED.
 * - AMOUNT_MISMATCH: UMS has another amount for the order than we do. Never corrected here: the
 *   ledger flags the payment for review instead.
 * - MISSING_AT_UMS: UMS answers that it has no such order.
 * - STATUS_MISMATCH: UMS and we disagree and the ledger would not apply UMS's word (it is older
 *   than ours, or must be decided by a person, e.g. paid after a close), or the refunded sums differ.
 * - ERROR: UMS could not be asked, or its answer named no status we know.
 */
import type { PaymentRow } from '../../db/schema.js';
import type { ApplyResult } from '../ledger.js';
import { isOpen, isPaidStatus, type PaymentStatus } from '../status.js';
import type { UmsAnswer } from '../commands.js';

export const RECONCILIATION_KINDS = ['MATCHED', 'CORRECTED', 'MISSING_AT_UMS', 'STATUS_MISMATCH', 'AMOUNT_MISMATCH', 'ERROR'] as const;
export type ReconciliationKind = (typeof RECONCILIATION_KINDS)[number];

export interface Classified {
  kind: ReconciliationKind;
  ours: Record<string, unknown>;
  theirs: Record<string, unknown> | null;
  note: string | null;
  oursPaid: number;
  oursRefunded: number;
  umsPaid: number;
  umsRefunded: number;
}

/** The gateway's side, as it was before the look: paid is the order's amount once paid. */
export function oursOf(payment: PaymentRow): Pick<Classified, 'ours' | 'oursPaid' | 'oursRefunded'> {
  const paid = isPaidStatus(payment.status) || payment.payTime !== null;
  return {
    ours: { status: payment.status, totalAmount: payment.totalAmount, refundedAmount: payment.refundedAmount, buyerPayAmount: payment.buyerPayAmount },
    oursPaid: paid ? payment.totalAmount : 0,
    oursRefunded: payment.refundedAmount,
  };
}

export function classifyError(before: PaymentRow | undefined, message: string): Classified {
  const ours = before ? oursOf(before) : { ours: {}, oursPaid: 0, oursRefunded: 0 };
  return { ...ours, kind: 'ERROR', theirs: null, note: message.slice(0, 200), umsPaid: 0, umsRefunded: 0 };
}

export function classify(before: PaymentRow, answer: UmsAnswer, applied: ApplyResult | undefined): Classified {
  const ours = oursOf(before);
  if (answer.kind === 'no-order') return { ...ours, kind: 'MISSING_AT_UMS', theirs: { errCode: 'NO_ORDER' }, note: 'UMS has no such order', umsPaid: 0, umsRefunded: 0 };
  if (answer.kind === 'unreadable') return { ...ours, kind: 'ERROR', theirs: null, note: 'UMS answered with no status we know', umsPaid: 0, umsRefunded: 0 };

  const report = answer.report;
  const umsTotal = report.totalAmount ?? before.totalAmount;
  const umsIsPaid = isPaidStatus(report.status);
  // Bills answers carry no refunded sum: the ledger's count stands in (and cannot disagree).
  const umsRefunded = answer.umsRefunded ?? (report.status === 'TRADE_REFUND' ? before.refundedAmount : 0);
  const theirs = { status: report.status, totalAmount: report.totalAmount ?? null, buyerPayAmount: report.buyerPayAmount ?? null, refundAmount: answer.umsRefunded ?? null };
  const base = { ...ours, theirs, umsPaid: umsIsPaid ? umsTotal : 0, umsRefunded };

  if (report.totalAmount !== undefined && before.totalAmount > 0 && report.totalAmount !== before.totalAmount) {
    return { ...base, kind: 'AMOUNT_MISMATCH', note: `UMS has ${report.totalAmount} fen, the gateway ${before.totalAmount} fen; flagged for review, not corrected` };
  }
  const after = applied?.payment ?? before;
  if (applied?.outcome === 'review') return { ...base, kind: 'STATUS_MISMATCH', note: `UMS says ${report.status}; not applied: ${applied.reason} (flagged for review)` };
  if (applied?.outcome === 'applied' && moneyMoved(before.status as PaymentStatus, after)) {
    return { ...base, kind: 'CORRECTED', note: `${before.status} → ${after.status} as UMS reports (source SYNC)` };
  }
  if (after.status !== report.status && !(isOpen(after.status as PaymentStatus) && isOpen(report.status))) {
    return { ...base, kind: 'STATUS_MISMATCH', note: `UMS says ${report.status}, the gateway ${after.status}` };
  }
  if (answer.umsRefunded !== undefined && answer.umsRefunded !== after.refundedAmount) {
    return { ...base, kind: 'STATUS_MISMATCH', note: `UMS has ${answer.umsRefunded} fen refunded, the gateway ${after.refundedAmount} fen` };
  }
  return { ...base, kind: 'MATCHED', note: null };
}

/** An applied change that is more than open-state bookkeeping (or counted a refund). */
function moneyMoved(from: PaymentStatus, after: PaymentRow): boolean {
  return !(isOpen(from) && isOpen(after.status as PaymentStatus));
}
