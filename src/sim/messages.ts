/**
 * What the simulator says about an order: the fields of a notification (PROTOCOL.md §4.1, vectors
 * NTF-04…07) and of query answers. Values are strings, as on the wire; empty ones are left out.
 * Free text (orderDesc, attachedData, srcReserve, refundDesc) goes out as UMS sends it: raw, `&`
 * and `=` included, and signed that way (§4.2), so the gateway meets the real hazard here.
 */
import { date, dateTime } from './clock.js';
import type { OrderStatus, RefundRecord, SimOrder } from './types.js';

export const MER_NAME = '银联商务模拟商户';

type Fields = Record<string, string>;

/**
 * The entries that carry a value. Unlike lib/objects.ts `definedFields`, an empty string counts as
 * absent too: UMS leaves empty fields out of what it sends and signs (§4.2).
 */
function present<V extends string | number>(entries: Record<string, V | undefined>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [name, value] of Object.entries(entries)) if (value !== undefined && value !== '') out[name] = value;
  return out;
}

/** A notification's fields: present values only, as wire strings. */
function compactFields(entries: Record<string, string | number | undefined>): Fields {
  const out: Fields = {};
  for (const [name, value] of Object.entries(present(entries))) out[name] = String(value);
  return out;
}

function paid(status: OrderStatus): boolean {
  return status === 'TRADE_SUCCESS' || status === 'TRADE_REFUND';
}

/** Payment facts shared by notifications and query answers, as they stood at `status`. */
function paymentFacts(order: SimOrder, status: OrderStatus): Record<string, string | number | undefined> {
  const isPaid = paid(status) && order.payTime !== undefined;
  return {
    mid: order.mid,
    tid: order.tid,
    instMid: order.instMid,
    merOrderId: order.merOrderId,
    status,
    totalAmount: order.totalAmount,
    seqId: order.seqId,
    targetSys: order.channel.targetSys,
    targetOrderId: order.targetOrderId,
    buyerId: isPaid ? order.buyerId : undefined,
    payTime: isPaid ? dateTime(order.payTime!) : undefined,
    settleDate: isPaid ? order.settleDate : undefined,
    buyerPayAmount: isPaid ? order.buyerPayAmount : undefined,
    receiptAmount: isPaid ? order.receiptAmount : undefined,
    invoiceAmount: isPaid ? order.receiptAmount : undefined,
    couponAmount: isPaid ? 0 : undefined,
    createTime: dateTime(order.createdAt),
    merName: MER_NAME,
    connectSys: 'UNIONPAY',
    attachedData: order.attachedData,
    orderDesc: order.orderDesc,
  };
}

function refundFacts(refund: RefundRecord): Record<string, string | number | undefined> {
  return {
    refundAmount: refund.refundAmount,
    refundOrderId: refund.refundOrderId,
    refundTargetOrderId: refund.refundTargetOrderId,
    refundPayTime: dateTime(refund.refundPayTime),
    refundSettleDate: date(refund.refundPayTime),
    refundStatus: refund.refundStatus,
    refundDesc: refund.refundDesc,
  };
}

const BILL_STATUS: Record<OrderStatus, string> = {
  NEW_ORDER: 'UNPAID',
  WAIT_BUYER_PAY: 'UNPAID',
  UNKNOWN: 'UNKNOWN',
  TRADE_SUCCESS: 'PAID',
  TRADE_REFUND: 'REFUND',
  TRADE_CLOSED: 'CLOSED',
};

export function billStatusOf(status: OrderStatus): string {
  return BILL_STATUS[status];
}

/** The `billPayment` object of bills answers and notifications. */
export function billPayment(order: SimOrder, status: OrderStatus): Record<string, string | number> | undefined {
  if (!paid(status) || order.payTime === undefined) return undefined;
  return {
    payTime: dateTime(order.payTime),
    buyerCashPayAmt: order.buyerPayAmount ?? order.totalAmount,
    invoiceAmount: order.receiptAmount ?? order.totalAmount,
    settleDate: order.settleDate ?? date(order.payTime),
    buyerId: order.buyerId ?? '',
    receiptAmount: order.receiptAmount ?? order.totalAmount,
    totalAmount: order.totalAmount,
    couponAmount: 0,
    billBizType: 'bills',
    buyerPayAmount: order.buyerPayAmount ?? order.totalAmount,
    targetOrderId: order.targetOrderId ?? '',
    paySeqId: order.seqId,
    merOrderId: order.merOrderId,
    status,
    targetSys: order.channel.targetSys,
  };
}

/**
 * The unsigned fields of a notification about `order` at `status`; `refund` for TRADE_REFUND.
 * Bills orders use the C-scan-B field set (billNo, billStatus, billPayment as a JSON string).
 */
export function notificationFields(order: SimOrder, status: OrderStatus, refund?: RefundRecord): Fields {
  if (order.channel.family === 'bills') {
    const payment = billPayment(order, status);
    return compactFields({
      msgType: order.channel.msgType,
      mid: order.mid,
      tid: order.tid,
      instMid: order.instMid,
      billNo: order.merOrderId,
      billQRCode: order.billQRCode,
      billDate: order.billDate,
      createTime: dateTime(order.createdAt),
      billStatus: billStatusOf(status),
      billDesc: order.orderDesc,
      totalAmount: order.totalAmount,
      billPayment: payment ? JSON.stringify(payment) : undefined,
      ...(refund ? refundFacts(refund) : {}),
    });
  }
  return compactFields({
    msgType: order.channel.msgType,
    ...paymentFacts(order, status),
    srcReserve: order.srcReserve,
    ...(refund ? refundFacts(refund) : {}),
  });
}

/** The order part of a `/v1/netpay/query` answer (numbers stay numbers in JSON answers). */
export function queryFacts(order: SimOrder): Record<string, string | number> {
  const out = present(paymentFacts(order, order.status));
  if (order.refundedAmount > 0) out.refundAmount = order.refundedAmount;
  out.targetStatus = paid(order.status) ? 'SUCCESS' : 'NOTPAY';
  return out;
}
