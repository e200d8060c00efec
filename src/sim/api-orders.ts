/**
 * Query, refund, refund-query and close of existing orders (PROTOCOL.md §5.4). An order is only
 * found under the instMid it was created with; anything else is NO_ORDER, as at UMS.
 */
import { date, dateTime } from './clock.js';
import { NETPAY_INST_MIDS } from './channels.js';
import type { SimEngine } from './engine.js';
import { SimRejection, badRequest } from './errors.js';
import { generateRefundOrderId } from './fake-ids.js';
import { queryFacts } from './messages.js';
import type { JsonObject, RefundRecord, SimOrder } from './types.js';
import { amount, checkCommon, checkInstMid, division, merchantOrderId, optionalText } from './validate.js';

const notFound = () => new SimRejection('NO_ORDER', '无法找到指定的订单');

/** Finds the order a request names by merOrderId (or targetOrderId), under its own instMid. */
function findOrder(engine: SimEngine, body: JsonObject): SimOrder {
  const instMid = checkCommon(body, engine.credentials);
  checkInstMid(instMid, NETPAY_INST_MIDS);
  const targetOrderId = optionalText(body, 'targetOrderId', 64);
  let order: SimOrder | undefined;
  if (body.merOrderId !== undefined || targetOrderId === undefined) {
    order = engine.store.get(merchantOrderId(body, 'merOrderId', engine.credentials));
  } else {
    order = engine.store.findByTargetOrderId(targetOrderId);
  }
  if (!order || order.instMid !== instMid) throw notFound();
  return order;
}

export function queryAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  return queryFacts(findOrder(engine, body));
}

export function refundFields(order: SimOrder, refund: RefundRecord): Record<string, unknown> {
  return {
    merOrderId: order.merOrderId,
    status: order.status,
    totalAmount: order.totalAmount,
    targetOrderId: order.targetOrderId,
    targetSys: order.channel.targetSys,
    seqId: order.seqId,
    refundStatus: refund.refundStatus,
    refundOrderId: refund.refundOrderId,
    refundTargetOrderId: refund.refundTargetOrderId,
    refundAmount: refund.refundAmount,
    refundInvoiceAmount: refund.refundAmount,
    // Only a refund that went through has a time and funds to report.
    ...(refund.refundStatus === 'SUCCESS'
      ? { refundPayTime: dateTime(refund.refundPayTime), refundSettleDate: date(refund.refundPayTime), refundFunds: `现金:${refund.refundAmount}` }
      : {}),
    ...(refund.refundDesc ? { refundDesc: refund.refundDesc } : {}),
  };
}

/**
 * Refunds `refundAmount` of a paid order. The same refundOrderId again returns the earlier refund
 * (idempotent); more than what remains (PROCESSING refunds hold their amount) is refused; a refund
 * notifies TRADE_REFUND once it has gone through.
 */
export function performRefund(engine: SimEngine, order: SimOrder, body: JsonObject): RefundRecord {
  const refundAmount = amount(body, 'refundAmount');
  const refundOrderId =
    body.refundOrderId === undefined || body.refundOrderId === ''
      ? generateRefundOrderId(engine.credentials.sourceId, engine.now())
      : merchantOrderId(body, 'refundOrderId', engine.credentials);
  const refundDesc = optionalText(body, 'refundDesc', 255);

  const earlier = order.refunds.find((r) => r.refundOrderId === refundOrderId);
  if (earlier) {
    engine.settleDueRefunds(order);
    return earlier;
  }
  const owner = engine.store.refundOwner(refundOrderId);
  if (owner) throw new SimRejection('DUP_ORDER', `refundOrderId ${refundOrderId} was already used for order ${owner.merOrderId}`);
  if (engine.store.get(refundOrderId)) throw badRequest('refundOrderId must differ from every merOrderId');
  if (order.status !== 'TRADE_SUCCESS' && order.status !== 'TRADE_REFUND') {
    throw new SimRejection('OPERATION_NOT_ALLOWED', `订单状态不允许退款: order is ${order.status}`);
  }
  if (order.secure && order.secureStatus !== 'ALL_COMPLETED' && order.secureStatus !== 'PARTLY_COMPLETED') {
    throw new SimRejection('OPERATION_NOT_ALLOWED', `担保交易未完成，不允许退款: secureStatus ${order.secureStatus ?? 'UNCOMPLETED'}`);
  }
  // Of a completed guaranteed payment only what was released to the merchant can be refunded.
  const refundable = order.secure ? (order.completeAmount ?? 0) : order.totalAmount;
  const remaining = refundable - order.refundedAmount - engine.store.pendingRefundAmount(order);
  if (refundAmount > remaining) {
    throw new SimRejection('OPERATION_NOT_ALLOWED', `退款金额超过可退金额: ${refundAmount} > ${remaining} fen remaining`);
  }
  const split = order.division ? refundDivision(order, body, refundAmount) : undefined;
  const refund = engine.refund(order, refundOrderId, refundAmount, refundDesc);
  if (split) {
    refund.division = split;
    engine.store.save(order);
  }
  return refund;
}

/** A split order's refund must name one sub-merchant and the platform's part, within what is left of each share. */
function refundDivision(order: SimOrder, body: JsonObject, refundAmount: number): NonNullable<SimOrder['division']> {
  const split = division(body);
  if (split.subOrders.length !== 1) throw badRequest('refund one sub-merchant at a time (subOrders must have one entry)');
  const sum = split.subOrders[0]!.totalAmount + split.platformAmount;
  if (sum !== refundAmount) throw badRequest(`subOrders plus platformAmount (${sum}) must equal refundAmount (${refundAmount})`);
  const done = order.refunds.filter((r) => r.refundStatus !== 'FAIL' && r.division);
  const platformLeft = order.division!.platformAmount - done.reduce((a, r) => a + r.division!.platformAmount, 0);
  if (split.platformAmount > platformLeft) throw new SimRejection('OPERATION_NOT_ALLOWED', `platformAmount ${split.platformAmount} > ${platformLeft} left`);
  const { mid, totalAmount } = split.subOrders[0]!;
  const share = order.division!.subOrders.find((s) => s.mid === mid);
  if (!share) throw badRequest(`subOrders: ${mid} has no share in this order`);
  const used = done.reduce((a, r) => a + r.division!.subOrders.filter((s) => s.mid === mid).reduce((b, s) => b + s.totalAmount, 0), 0);
  if (totalAmount > share.totalAmount - used) throw new SimRejection('OPERATION_NOT_ALLOWED', `${mid}: ${totalAmount} > ${share.totalAmount - used} left of its share`);
  return split;
}

export function refundAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const order = findOrder(engine, body);
  return refundFields(order, performRefund(engine, order, body));
}

/**
 * refund-query: `merOrderId` is the original order (plus `refundOrderId`), or, as two integrations
 * send it, the refund's own id. Without refundOrderId the latest refund answers. A PROCESSING
 * refund answers PROCESSING until it settles (the `refund-processing` scenario).
 */
export function refundQueryAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const instMid = checkCommon(body, engine.credentials);
  const id = merchantOrderId(body, 'merOrderId', engine.credentials);
  const refundOrderId = body.refundOrderId === undefined ? undefined : merchantOrderId(body, 'refundOrderId', engine.credentials);
  let order = engine.store.get(id);
  let wanted = refundOrderId;
  if (!order) {
    order = engine.store.refundOwner(id);
    wanted = id;
  }
  if (!order || order.instMid !== instMid) throw notFound();
  const refund = wanted === undefined ? order.refunds.at(-1) : order.refunds.find((r) => r.refundOrderId === wanted);
  if (!refund) throw notFound();
  // A PROCESSING refund whose time has come answers (and notifies) its final status now.
  engine.settleDueRefunds(order);
  return {
    ...refundFields(order, refund),
    payTime: order.payTime ? dateTime(order.payTime) : undefined,
    settleDate: order.settleDate,
    targetStatus: 'SUCCESS',
  };
}

function secureFields(order: SimOrder): Record<string, unknown> {
  return {
    merOrderId: order.merOrderId,
    status: order.status,
    totalAmount: order.totalAmount,
    secureStatus: order.secureStatus,
    ...(order.completeAmount !== undefined ? { completeAmount: order.completeAmount } : {}),
  };
}

/** The paid, guaranteed order a secure-complete / secure-cancel names. */
function secureOrder(engine: SimEngine, body: JsonObject): SimOrder {
  const order = findOrder(engine, body);
  if (!order.secure) throw new SimRejection('OPERATION_NOT_ALLOWED', '非担保交易: the order was not created with secureTransaction');
  if (order.secureStatus === undefined) throw new SimRejection('OPERATION_NOT_ALLOWED', `订单未支付: order is ${order.status}`);
  return order;
}

/**
 * secure-complete (担保完成): releases `completedAmount` (at most the order's total) to the
 * merchant; the rest goes back to the buyer. Once only: the same amount again answers the same
 * result, another amount is refused.
 */
export function secureCompleteAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const order = secureOrder(engine, body);
  const completedAmount = amount(body, 'completedAmount');
  if (completedAmount > order.totalAmount) throw badRequest(`completedAmount ${completedAmount} is more than the order's ${order.totalAmount}`);
  if (order.secureStatus === 'CANCELED') throw new SimRejection('OPERATION_NOT_ALLOWED', '担保交易已撤销: the guarantee was cancelled');
  if (order.secureStatus !== 'UNCOMPLETED') {
    if (order.completeAmount === completedAmount) return secureFields(order);
    throw new SimRejection('OPERATION_NOT_ALLOWED', `担保交易已完成: ${order.completeAmount} fen were completed already`);
  }
  order.completeAmount = completedAmount;
  order.secureStatus = completedAmount === order.totalAmount ? 'ALL_COMPLETED' : 'PARTLY_COMPLETED';
  engine.store.save(order);
  engine.log?.info({ merOrderId: order.merOrderId, completedAmount, secureStatus: order.secureStatus }, 'ums-sim: guarantee completed');
  engine.notify(order, order.status);
  return secureFields(order);
}

/** secure-cancel (担保撤销): everything goes back to the buyer and the order closes; again: HAS_CANCELLED. */
export function secureCancelAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const order = secureOrder(engine, body);
  if (order.secureStatus === 'CANCELED') throw new SimRejection('HAS_CANCELLED', '担保交易已撤销');
  if (order.secureStatus !== 'UNCOMPLETED') throw new SimRejection('OPERATION_NOT_ALLOWED', '担保交易已完成，不能撤销: use refund');
  order.secureStatus = 'CANCELED';
  engine.store.close(order);
  engine.log?.info({ merOrderId: order.merOrderId }, 'ums-sim: guarantee cancelled');
  engine.notify(order, order.status);
  return secureFields(order);
}

export function closeAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const order = findOrder(engine, body);
  if (!engine.store.isOpen(order)) {
    throw new SimRejection('OPERATION_NOT_ALLOWED', `订单状态不允许关闭: order is ${order.status}`);
  }
  engine.store.close(order);
  engine.log?.info({ merOrderId: order.merOrderId }, 'ums-sim: order closed');
  return { merOrderId: order.merOrderId, status: order.status, totalAmount: order.totalAmount };
}
