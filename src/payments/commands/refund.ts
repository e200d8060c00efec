/**
 * refundPayment, and settleRefund (the scheduler's refund-query). The refund is stored PROCESSING
 * before UMS is asked; the remaining amount is checked with the payment row locked, so two
 * refunds racing cannot both pass. A refund is never sent under a second refundOrderId: a retry
 * resends the SAME id, which UMS deduplicates. A refusal that does not prove that no money moved
 * leaves the refund UNKNOWN (still reserved) and flags the payment for an operator.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { payments, refunds, type PaymentRow, type RefundRow } from '../../db/schema.js';
import { optional } from '../../lib/objects.js';
import { UmsAuthError, UmsBusinessError, UmsError } from '../../ums/errors.js';
import { isBillsChannel } from '../../ums/operations.js';
import { beijingDate } from '../../ums/time.js';
import type { PaymentChannel, RefundResponse } from '../../ums/types.js';
import type { CommandOptions, RefundPaymentInput } from '../commands-api.js';
import { badInput, PaymentError } from '../errors.js';
import type { Attempt, IdempotentOperation } from '../idempotency.js';
import { applyReport, flagPaymentForReview, insertRefundRequest, PENDING_REFUND_STATUSES, type RefundStatus } from '../ledger.js';
import { isPaidStatus, type EventSource, type PaymentStatus } from '../status.js';
import { refundStatusOf, reportFromRefund } from '../sync/reports.js';
import { REFUND_IN_DOUBT } from '../sync/review.js';
import { forPayment, instMidOf, loadPayment, merchantIdOf, notFound, orderIdFor, ownedBy, type CommandDeps } from './deps.js';
import { checkRefundDivision } from './division.js';
import { checkRefund } from './input-checks.js';
import { refundCertainlyNotMade, toPaymentError } from './ums-errors.js';

export async function refundPayment(
  anyDeps: CommandDeps,
  input: RefundPaymentInput,
  opts: CommandOptions,
  operation: Extract<IdempotentOperation, 'refundPayment' | 'reviewRefund'> = 'refundPayment',
): Promise<RefundRow> {
  // The refund goes out under the payment's merchant (its source number, its credentials). Another
  // merchant's payment is checked as one that does not exist: by the caller's own merchant's rules
  // (its NOT_FOUND comes later, with the same message), so no answer tells the two apart.
  const own = opts.merchantId;
  const found = await merchantIdOf(anyDeps, input.merOrderId);
  const merchantId = found !== undefined && (own === undefined || found === own) ? found : own;
  const deps = merchantId === undefined ? anyDeps : forPayment(anyDeps, { merchantId, merOrderId: input.merOrderId });
  checkRefund(input, opts, deps.sourceId);
  // The key is the payment's merchant's, whoever calls (a merchant's key or a gateway-wide one):
  // two callers of one payment's refund with one key meet, and never refund it twice.
  return deps.idempotency.run(operation, opts.idempotencyKey, input, (attempt) => refund(deps, input, attempt, opts), { scope: merchantId });
}

async function refund(deps: CommandDeps, input: RefundPaymentInput, attempt: Attempt, opts: CommandOptions): Promise<RefundRow> {
  const { id: refundOrderId, ours } = orderIdFor(deps, input.refundOrderId, attempt);
  if (ours) {
    // An earlier run under this Idempotency-Key may have stored (and sent) this very refund.
    const [earlier] = await deps.db.select().from(refunds).where(eq(refunds.refundOrderId, refundOrderId));
    if (earlier) return resumeRefund(deps, input, earlier, opts);
  }
  const { payment, refund: row } = await reserveRefund(deps, input, refundOrderId, opts.merchantId);
  return askRefund(deps, payment, row, { resent: false }, opts.actor);
}

/**
 * A retry (or take-over) finds the refund an earlier run stored. Still pending: the refund is
 * sent again with the SAME refundOrderId, which UMS deduplicates (a refund that arrived is
 * answered, not repeated). Settled: answered as it stands. Never a second refundOrderId.
 */
async function resumeRefund(deps: CommandDeps, input: RefundPaymentInput, row: RefundRow, opts: CommandOptions): Promise<RefundRow> {
  const ids = { merOrderId: row.merOrderId, refundOrderId: row.refundOrderId };
  if (row.merOrderId !== input.merOrderId || row.refundAmount !== input.refundAmount) {
    throw new PaymentError('CONFLICT', `a refund with refundOrderId ${row.refundOrderId} already exists`, ids);
  }
  // The payment is looked up first: another merchant's refund reads as none, as its payment does.
  const payment = await loadPayment(deps, row.merOrderId, opts.merchantId);
  deps.log?.warn({ ...ids, status: row.status }, 'refund: resuming an earlier attempt under the same Idempotency-Key');
  if (!(PENDING_REFUND_STATUSES as readonly string[]).includes(row.status)) return row;
  return askRefund(deps, payment, row, { resent: true }, opts.actor);
}

/**
 * Sends a stored (PROCESSING or UNKNOWN) refund to UMS and records the answer. `resent`: an
 * earlier run may have sent it already, so even a clear refusal now does not prove that no
 * money moved (the first request may have been carried out).
 */
async function askRefund(
  deps: CommandDeps,
  payment: PaymentRow,
  row: RefundRow,
  how: { resent: boolean } = { resent: false },
  actor?: string,
): Promise<RefundRow> {
  const { merOrderId, refundOrderId, refundAmount } = row;
  let answer: RefundResponse;
  try {
    answer = await sendRefund(deps, payment, row);
  } catch (err) {
    if (err instanceof UmsError && err.outcomeUnknown) {
      deps.log?.warn({ merOrderId, refundOrderId, errCode: err.errCode }, 'refund: outcome unknown; refund-query will settle it');
      return recordRefund(deps, payment, row, undefined, 'UNKNOWN', 'MUTATION', actor);
    }
    if (!(err instanceof UmsError)) throw err; // the refund stays PROCESSING for refund-query
    if (how.resent || !refundCertainlyNotMade(err)) {
      // Answered as pending (UNKNOWN), like an ambiguous outcome: refund-query keeps asking.
      await refundInDoubt(deps, payment, row, err, 'MUTATION', actor);
      return refundRow(deps, row);
    }
    await recordRefund(deps, payment, row, undefined, 'FAIL', 'MUTATION', actor);
    throw toPaymentError(err, { merOrderId, refundOrderId });
  }
  const stored = await recordRefund(deps, payment, row, answer, refundStatusOf(answer), 'MUTATION', actor);
  deps.log?.info({ merOrderId, refundOrderId, refundAmount, status: stored.status }, 'refund answered');
  return stored;
}

/** POST the refund (bills refund for QR codes); the refund row carries every field needed. */
function sendRefund(anyDeps: CommandDeps, payment: PaymentRow, row: RefundRow): Promise<RefundResponse> {
  const deps = forPayment(anyDeps, payment);
  const common = {
    refundOrderId: row.refundOrderId,
    refundAmount: row.refundAmount,
    ...optional('refundDesc', row.description),
    // A split payment's refund carries its shares, as UMS requires.
    ...(row.subOrders !== null || row.platformAmount !== null ? { extra: { platformAmount: row.platformAmount ?? 0, subOrders: row.subOrders ?? [] } } : {}),
  };
  return isBillsChannel(payment.channel as PaymentChannel)
    ? deps.ums.billsRefund({ billNo: payment.merOrderId, billDate: beijingDate(payment.createdAt), ...common })
    : deps.ums.refund({ merOrderId: payment.merOrderId, ...common }, instMidOf(payment));
}

/**
 * Checks the refund against the payment with the payment row locked (two refunds racing cannot
 * both pass the remaining-amount check) and stores it PROCESSING before UMS is asked.
 */
async function reserveRefund(
  deps: CommandDeps,
  input: RefundPaymentInput,
  refundOrderId: string,
  merchantId: string | undefined,
): Promise<{ payment: PaymentRow; refund: RefundRow }> {
  return deps.db.transaction(async (tx) => {
    const [payment] = await tx.select().from(payments).where(eq(payments.merOrderId, input.merOrderId)).for('update');
    // Another merchant's payment is refused exactly as one that does not exist.
    if (!payment || !ownedBy(payment, merchantId)) throw notFound(input.merOrderId);
    if (!isPaidStatus(payment.status)) {
      throw new PaymentError('CONFLICT', `payment ${payment.merOrderId} is ${payment.status}; only paid orders can be refunded`, {
        merOrderId: payment.merOrderId,
      });
    }
    // A guaranteed payment (担保) is refunded only once completed, and only what was completed.
    if (payment.secureTransaction && payment.secureStatus !== 'ALL_COMPLETED' && payment.secureStatus !== 'PARTLY_COMPLETED') {
      throw new PaymentError('CONFLICT', `payment ${payment.merOrderId} is a guaranteed payment not completed yet: complete or cancel it first`, {
        merOrderId: payment.merOrderId,
      });
    }
    const [pending] = await tx
      .select({ sum: sql<string | number | null>`coalesce(sum(${refunds.refundAmount}), 0)` })
      .from(refunds)
      .where(and(eq(refunds.merOrderId, payment.merOrderId), inArray(refunds.status, [...PENDING_REFUND_STATUSES])));
    if (payment.divisionFlag) {
      const earlier = await tx.select().from(refunds).where(eq(refunds.merOrderId, payment.merOrderId));
      checkRefundDivision(payment, input, earlier);
    } else if (input.subOrders !== undefined || input.platformAmount !== undefined) {
      throw badInput('subOrders', 'subOrders and platformAmount are for refunds of split payments only');
    }
    const refundable = payment.secureTransaction ? (payment.completedAmount ?? 0) : payment.totalAmount;
    const remaining = refundable - payment.refundedAmount - Number(pending?.sum ?? 0);
    if (input.refundAmount > remaining) {
      throw new PaymentError(
        'BAD_USER_INPUT',
        `refundAmount ${input.refundAmount} is more than the ${Math.max(remaining, 0)} fen that remain refundable on ${payment.merOrderId}`,
        { merOrderId: payment.merOrderId, field: 'refundAmount' },
      );
    }
    const row = await insertRefundRequest(tx, {
      refundOrderId,
      merOrderId: payment.merOrderId,
      refundAmount: input.refundAmount,
      ...optional('description', input.description),
      ...optional('platformAmount', input.platformAmount),
      ...optional('subOrders', input.subOrders),
      nextSyncAt: new Date(deps.now().getTime() + deps.syncAfterMs),
    });
    return { payment, refund: row };
  });
}

/**
 * Asks UMS (refund-query) about a refund that is PROCESSING or UNKNOWN and stores the answer.
 * The scheduler's way of settling refunds; throws PaymentError when UMS could not answer.
 */
export async function settleRefund(anyDeps: CommandDeps, row: RefundRow, source: EventSource): Promise<RefundRow> {
  const payment = await loadPayment(anyDeps, row.merOrderId);
  const deps = forPayment(anyDeps, payment);
  const ids = { merOrderId: row.merOrderId, refundOrderId: row.refundOrderId };
  let answer: RefundResponse;
  try {
    answer = await deps.ums.refundQuery(ids, instMidOf(payment));
  } catch (err) {
    if (!(err instanceof UmsBusinessError && err.errCode === 'NO_ORDER')) throw toPaymentError(err, ids);
    // UMS has no such refund: our request never arrived. Send it again with the SAME
    // refundOrderId, which UMS deduplicates (a refund that did arrive is answered, not repeated).
    deps.log?.warn(ids, 'refund unknown at UMS; resending it with the same refundOrderId');
    try {
      answer = await sendRefund(deps, payment, row);
    } catch (resendErr) {
      // A refund-query NO_ORDER may only lag behind a refund UMS did make, so a refused resend
      // is no proof that the refund failed: it stays pending (UNKNOWN) and a person looks.
      if (resendErr instanceof UmsError && !resendErr.outcomeUnknown && !(resendErr instanceof UmsAuthError)) {
        await refundInDoubt(deps, payment, row, resendErr, source);
      }
      throw toPaymentError(resendErr, ids);
    }
  }
  return recordRefund(deps, payment, row, answer, refundStatusOf(answer), source);
}

/**
 * UMS said no, but that does not prove that no refund was made: the refund is recorded UNKNOWN
 * (still pending, so the remaining amount stays reserved), refund-query keeps asking, and the
 * payment is flagged for an operator.
 */
async function refundInDoubt(deps: CommandDeps, payment: PaymentRow, row: RefundRow, err: UmsError, source: EventSource, actor?: string): Promise<void> {
  const ids = { merOrderId: row.merOrderId, refundOrderId: row.refundOrderId };
  deps.log?.warn({ ...ids, errCode: err.errCode }, 'refund: UMS refused, but the refund may have been made; left UNKNOWN for review');
  await recordRefund(deps, payment, row, undefined, 'UNKNOWN', source, actor);
  await flagPaymentForReview(deps.db, row.merOrderId, `${REFUND_IN_DOUBT}:${row.refundOrderId}`);
}

async function refundRow(deps: CommandDeps, row: RefundRow): Promise<RefundRow> {
  const [now] = await deps.db.select().from(refunds).where(eq(refunds.refundOrderId, row.refundOrderId));
  return now ?? row;
}

async function recordRefund(
  deps: CommandDeps,
  payment: PaymentRow,
  row: RefundRow,
  answer: RefundResponse | undefined,
  status: RefundStatus,
  source: EventSource,
  actor?: string,
): Promise<RefundRow> {
  // Restate the payment's latest status unless the money went back: only the refund row changes.
  const latest = await loadPayment(deps, payment.merOrderId);
  const report = reportFromRefund(latest.merOrderId, latest.status as PaymentStatus, row, answer, status);
  await applyReport(deps.db, report, source, {
    payload: { answer: 'refund', refundOrderId: row.refundOrderId, refundStatus: status, errCode: answer?.errCode ?? null },
    actor,
  });
  return refundRow(deps, row);
}
