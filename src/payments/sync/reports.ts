/**
 * What UMS answers to a query, a bills query, a close or a refund, turned into the ledger's
 * `StatusReport`. Pure functions: the one place where answer fields meet our vocabulary, so a
 * notification (notifications.ts) and an active query end in the same status table.
 */
import { optional } from '../../lib/objects.js';
import type { RefundStatus, StatusReport } from '../ledger.js';
import { normaliseStatus, statusFromBillStatus, type PaymentStatus } from '../status.js';
import { parseBeijing } from '../../ums/time.js';
import type { BillsQueryResponse, NetpayResponse, QueryResponse, RefundResponse } from '../../ums/types.js';

/** The fields every netpay answer may carry about the order (never the amount we did not ask about). */
function orderFacts(merOrderId: string, answer: NetpayResponse): Omit<StatusReport, 'status'> {
  return {
    merOrderId,
    ...optional('totalAmount', answer.totalAmount),
    ...optional('targetOrderId', answer.targetOrderId),
    ...optional('targetSys', answer.targetSys),
    ...optional('seqId', answer.seqId),
  };
}

/** /v1/netpay/query → report; `undefined` when the answer names no status we know. */
export function reportFromQuery(merOrderId: string, answer: QueryResponse): StatusReport | undefined {
  const status = answer.status === undefined ? undefined : normaliseStatus(answer.status);
  if (!status) return undefined;
  return {
    ...orderFacts(merOrderId, answer),
    status,
    ...optional('payTime', answer.payTime === undefined ? undefined : parseBeijing(answer.payTime)),
    ...optional('settleDate', answer.settleDate),
    ...optional('buyerPayAmount', answer.buyerPayAmount),
    ...optional('receiptAmount', answer.receiptAmount),
  };
}

/** /v1/netpay/bills/query → report: billPayment.status when present, else billStatus. */
export function reportFromBillsQuery(merOrderId: string, answer: BillsQueryResponse): StatusReport | undefined {
  const payment = answer.billPayment;
  const fromPayment = payment?.status === undefined ? undefined : normaliseStatus(payment.status);
  const fromBill = answer.billStatus === undefined ? undefined : statusFromBillStatus(answer.billStatus);
  const status = fromPayment ?? fromBill;
  if (!status) return undefined;
  return {
    merOrderId,
    status,
    ...optional('totalAmount', answer.totalAmount),
    ...optional('targetOrderId', payment?.targetOrderId),
    ...optional('targetSys', payment?.targetSys),
    ...optional('seqId', payment?.paySeqId),
    ...optional('payTime', payment?.payTime === undefined ? undefined : parseBeijing(payment.payTime)),
    ...optional('settleDate', payment?.settleDate),
    ...optional('buyerPayAmount', payment?.buyerPayAmount),
    ...optional('receiptAmount', payment?.receiptAmount),
  };
}

/** A create answer: the order's first status (NEW_ORDER when UMS names none, e.g. bills). */
export function reportFromCreate(merOrderId: string, answer: NetpayResponse | undefined): StatusReport {
  const status = answer?.status === undefined ? undefined : normaliseStatus(answer.status);
  return { ...(answer ? orderFacts(merOrderId, answer) : { merOrderId }), status: status ?? 'NEW_ORDER' };
}

/** refundStatus as UMS wrote it; anything unreadable is UNKNOWN (refund-query will tell). */
export function refundStatusOf(answer: RefundResponse): RefundStatus {
  const raw = answer.refundStatus?.trim().toUpperCase();
  if (raw === 'SUCCESS' || raw === 'FAIL' || raw === 'PROCESSING' || raw === 'UNKNOWN') return raw;
  return 'UNKNOWN';
}

/**
 * A refund answer (refund or refund-query) → report. A successful refund moves the payment to
 * TRADE_REFUND and counts the money; otherwise the payment's status is restated (a duplicate for
 * the ledger) so that only the refund row changes.
 */
export function reportFromRefund(
  merOrderId: string,
  currentStatus: PaymentStatus,
  refund: { refundOrderId: string; refundAmount: number },
  answer: RefundResponse | undefined,
  status: RefundStatus,
): StatusReport {
  return {
    merOrderId,
    status: status === 'SUCCESS' ? 'TRADE_REFUND' : currentStatus,
    refund: {
      refundOrderId: refund.refundOrderId,
      refundAmount: refund.refundAmount,
      status,
      ...optional('refundTargetOrderId', answer?.refundTargetOrderId),
    },
  };
}

