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
import { amount, checkCommon, checkInstMid, merchantOrderId, optionalText } from './validate.js';

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
  const remaining = order.totalAmount - order.refundedAmount - engine.store.pendingRefundAmount(order);
  if (refundAmount > remaining) {
    throw new SimRejection('OPERATION_NOT_ALLOWED', `退款金额超过可退金额: ${refundAmount} > ${remaining} fen remaining`);
  }
  return engine.refund(order, refundOrderId, refundAmount, refundDesc);
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

export function closeAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const order = findOrder(engine, body);
  if (!engine.store.isOpen(order)) {
    throw new SimRejection('OPERATION_NOT_ALLOWED', `订单状态不允许关闭: order is ${order.status}`);
  }
  engine.store.close(order);
  engine.log?.info({ merOrderId: order.merOrderId }, 'ums-sim: order closed');
  return { merOrderId: order.merOrderId, status: order.status, totalAmount: order.totalAmount };
}
