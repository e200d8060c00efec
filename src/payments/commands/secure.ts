/**
 * Guaranteed payments (担保, created with secureTransaction): UMS holds the buyer's money until the
 * merchant completes (secure-complete: the whole or part of it goes to the merchant, the rest back
 * to the buyer) or cancels (secure-cancel: all of it goes back, the order closes). Refunds are
 * refused until completion, and then reach only the completed amount (docs/protocol.md §11).
 *
 * Idempotent: completing again with the same amount, or cancelling again, answers the payment as
 * it stands (UMS answers HAS_CANCELLED to a second cancel); another amount is a CONFLICT.
 */
import type { PaymentRow } from '../../db/schema.js';
import { UmsBusinessError, UmsError } from '../../ums/errors.js';
import { PaymentError } from '../errors.js';
import { applyReport, recordSecureState } from '../ledger.js';
import { checkAmount } from './input-checks.js';
import { instMidOf, loadPayment, type CommandDeps } from './deps.js';
import { toPaymentError } from './ums-errors.js';

const COMPLETED = new Set(['ALL_COMPLETED', 'PARTLY_COMPLETED']);

function guaranteed(payment: PaymentRow): void {
  if (!payment.secureTransaction) {
    throw new PaymentError('CONFLICT', `payment ${payment.merOrderId} is not a guaranteed payment (created without secureTransaction)`, { merOrderId: payment.merOrderId });
  }
}

export async function completeSecurePayment(deps: CommandDeps, merOrderId: string, amount?: number): Promise<PaymentRow> {
  if (amount !== undefined) checkAmount('amount', amount);
  const payment = await loadPayment(deps, merOrderId);
  guaranteed(payment);
  const completedAmount = amount ?? payment.totalAmount;
  if (completedAmount > payment.totalAmount) throw new PaymentError('BAD_USER_INPUT', `amount ${completedAmount} is more than the payment's ${payment.totalAmount}`, { field: 'amount' });
  if (payment.secureStatus && COMPLETED.has(payment.secureStatus)) {
    if (payment.completedAmount === completedAmount) return payment;
    throw new PaymentError('CONFLICT', `payment ${merOrderId} was completed already with ${payment.completedAmount} fen`, { merOrderId });
  }
  if (payment.secureStatus === 'CANCELED') throw new PaymentError('CONFLICT', `the guarantee of payment ${merOrderId} was cancelled`, { merOrderId });
  if (payment.status !== 'TRADE_SUCCESS') throw new PaymentError('CONFLICT', `payment ${merOrderId} is ${payment.status}: only a paid guaranteed payment can be completed`, { merOrderId });

  let answer;
  try {
    answer = await deps.ums.secureComplete({ merOrderId, completedAmount }, instMidOf(payment));
  } catch (err) {
    throw toPaymentError(err, { merOrderId });
  }
  const secureStatus = answer.secureStatus ?? (completedAmount === payment.totalAmount ? 'ALL_COMPLETED' : 'PARTLY_COMPLETED');
  const { payment: stored } = await recordSecureState(deps.db, merOrderId, { secureStatus, completedAmount: answer.completeAmount ?? answer.completedAmount ?? completedAmount }, 'MUTATION', {
    answer: 'secure-complete',
    errCode: answer.errCode,
    secureStatus,
    completedAmount,
  });
  deps.log?.info({ merOrderId, completedAmount, secureStatus }, 'guaranteed payment completed');
  return stored;
}

export async function cancelSecurePayment(deps: CommandDeps, merOrderId: string): Promise<PaymentRow> {
  const payment = await loadPayment(deps, merOrderId);
  guaranteed(payment);
  if (payment.secureStatus === 'CANCELED') return payment;
  if (payment.secureStatus && COMPLETED.has(payment.secureStatus)) {
    throw new PaymentError('CONFLICT', `payment ${merOrderId} was completed: refund it instead`, { merOrderId });
  }
  if (payment.status !== 'TRADE_SUCCESS') throw new PaymentError('CONFLICT', `payment ${merOrderId} is ${payment.status}: only a paid guaranteed payment can be cancelled`, { merOrderId });
  let errCode: string;
  try {
    errCode = (await deps.ums.secureCancel({ merOrderId }, instMidOf(payment))).errCode;
  } catch (err) {
    // Cancelled before (by an earlier attempt whose answer was lost): the same end state.
    if (!(err instanceof UmsBusinessError && err.errCode === 'HAS_CANCELLED')) {
      if (err instanceof UmsError || err instanceof PaymentError) throw toPaymentError(err, { merOrderId });
      throw err;
    }
    errCode = err.errCode;
  }
  // The money went back to the buyer: the order is closed, and its guarantee cancelled.
  await applyReport(deps.db, { merOrderId, status: 'TRADE_CLOSED' }, 'MUTATION', { payload: { answer: 'secure-cancel', errCode } });
  const { payment: stored } = await recordSecureState(deps.db, merOrderId, { secureStatus: 'CANCELED' }, 'MUTATION', { answer: 'secure-cancel', errCode });
  deps.log?.info({ merOrderId }, 'guaranteed payment cancelled');
  return stored;
}
