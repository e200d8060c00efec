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

/**
 * The legacy message source UMS names itself with in notifications (notification-fields.md marks
 * `msgSrc` required; PROTOCOL.md §0 gives the sandbox's `WWW.TEST.COM`).
 */
export const SIM_MSG_SRC = 'WWW.TEST.COM';

/** The channel's own status word for a paid order, as `targetStatus` carries it. */
function targetStatusOf(order: SimOrder, status: OrderStatus): string {
  if (!paid(status)) return 'NOTPAY';
  if (order.channel.targetSys === 'WXPay') return 'SUCCESS';
  if (order.channel.targetSys.startsWith('Alipay')) return 'TRADE_SUCCESS';
  return '00';
}

/** `支付宝余额:33|优惠券:55` (notification-fields.md `billFunds`): where the money came from. */
function billFunds(order: SimOrder, cash: number): string {
  const source = order.channel.targetSys.startsWith('Alipay') ? '支付宝余额' : order.channel.targetSys === 'WXPay' ? '零钱' : '银行卡';
  return order.discount ? `${source}:${cash}|优惠券:${order.discount}` : `${source}:${cash}`;
}

/** Payment facts shared by notifications and query answers, as they stood at `status`. */
function paymentFacts(order: SimOrder, status: OrderStatus): Record<string, string | number | undefined> {
  const isPaid = paid(status) && order.payTime !== undefined;
  const wechat = order.channel.targetSys === 'WXPay';
  const discount = order.discount ?? 0;
  const cash = order.totalAmount - discount;
  const whenPaid = <V>(value: V): V | undefined => (isPaid ? value : undefined);
  return {
    mid: order.mid,
    tid: order.tid,
    instMid: order.instMid,
    merOrderId: order.merOrderId,
    status,
    totalAmount: order.totalAmount,
    seqId: order.seqId,
    // No bankRefId came from the merchant, so the clearing id is the seqId (the table's rule).
    settleRefId: order.seqId,
    targetSys: order.channel.targetSys,
    targetStatus: targetStatusOf(order, status),
    targetOrderId: order.targetOrderId,
    targetMid: targetMidOf(order),
    buyerId: whenPaid(order.buyerId),
    buyerUsername: whenPaid(order.buyerUsername),
    subBuyerId: wechat ? whenPaid(order.subOpenId) : undefined,
    bankCardNo: whenPaid(order.bankCardNo),
    bankInfo: whenPaid(order.bankInfo),
    refId: whenPaid(order.refId),
    payTime: isPaid ? dateTime(order.payTime!) : undefined,
    settleDate: whenPaid(order.settleDate),
    buyerPayAmount: whenPaid(order.buyerPayAmount),
    receiptAmount: whenPaid(order.receiptAmount),
    invoiceAmount: whenPaid(cash),
    couponAmount: whenPaid(discount),
    buyerCashPayAmt: whenPaid(cash),
    billFunds: whenPaid(billFunds(order, cash)),
    billFundsDesc: whenPaid(`现金支付${(cash / 100).toFixed(2)}元${discount ? `，优惠${(discount / 100).toFixed(2)}元` : ''}`),
    // Campaign fields exist only for orders with such a discount (the table's words).
    activityIds: discount && wechat ? whenPaid(`YXLM${order.seqId}`) : undefined,
    yxlmAmount: discount ? whenPaid(discount) : undefined,
    // "WeChat for now": who funded the discount.
    couponMerchantContribute: wechat ? whenPaid(0) : undefined,
    couponOtherContribute: wechat ? whenPaid(discount) : undefined,
    createTime: dateTime(order.createdAt),
    merName: MER_NAME,
    connectSys: 'UNIONPAY',
    attachedData: order.attachedData,
    orderDesc: order.orderDesc,
    secureStatus: order.secure ? order.secureStatus : undefined,
    completeAmount: order.secure ? order.completeAmount : undefined,
  };
}

/** The channel's merchant number for this order (varies by channel, notification-fields.md). */
function targetMidOf(order: SimOrder): string {
  const digits = order.mid.replace(/\D/g, '').slice(-6).padStart(6, '0');
  if (order.channel.targetSys === 'WXPay') return `1900${digits}`;
  if (order.channel.targetSys.startsWith('Alipay')) return `2088${digits}${digits}`;
  return `898${digits}${digits}`;
}

/**
 * UMS's own number of the order (`fenOrderId`: in the documentation's JSON example, not in its
 * table; its meaning is not stated). The simulator derives it from the seqId so it is stable.
 */
function fenOrderIdOf(order: SimOrder): string {
  return `${order.seqId.slice(0, 6)}${order.merOrderId.slice(-10)}`;
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
export function notificationFields(order: SimOrder, status: OrderStatus, now: Date, refund?: RefundRecord): Fields {
  // Every notification's envelope: the source, the time of the message, what the request asked to echo.
  const envelope = { msgSrc: SIM_MSG_SRC, responseTimestamp: dateTime(now), msgId: order.msgId, srcReserve: order.srcReserve };
  if (order.channel.family === 'bills') {
    const payment = billPayment(order, status);
    return compactFields({
      ...envelope,
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
    ...envelope,
    msgType: order.channel.msgType,
    ...paymentFacts(order, status),
    fenOrderId: fenOrderIdOf(order),
    ...(refund ? refundFacts(refund) : {}),
  });
}

/** The order part of a `/v1/netpay/query` answer (numbers stay numbers in JSON answers). */
export function queryFacts(order: SimOrder): Record<string, string | number> {
  const out = present(paymentFacts(order, order.status));
  if (order.refundedAmount > 0) out.refundAmount = order.refundedAmount;
  return out;
}
