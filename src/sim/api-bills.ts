/**
 * Bills / C-scan-B QR codes (PROTOCOL.md §5.5, instMid QRPAYDEFAULT). A bill is kept as an order
 * whose merOrderId is its billNo; its QR code points at the simulator's cashier page, so scanning
 * or opening it lets a person pay.
 */
import { dateTime } from './clock.js';
import { channelFor } from './channels.js';
import { cashierUrl, newOrder } from './api-create.js';
import { performRefund, refundFields } from './api-orders.js';
import type { SimEngine } from './engine.js';
import { SimRejection, badRequest } from './errors.js';
import * as fake from './fake-ids.js';
import { billPayment, billStatusOf } from './messages.js';
import type { JsonObject, SimOrder } from './types.js';
import { amount, billDate, checkCommon, checkInstMid, expiry, merchantOrderId, optionalText, optionalUrl } from './validate.js';

const BILLS = channelFor('POST', '/v1/netpay/bills/get-qrcode')!;
const notFound = () => new SimRejection('NO_ORDER', '无法找到指定的订单');

export function getQrCodeAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const { credentials } = engine;
  const instMid = checkCommon(body, credentials);
  checkInstMid(instMid, BILLS.instMids);
  const billNo = merchantOrderId(body, 'billNo', credentials);
  const date = billDate(body);
  const totalAmount = amount(body, 'totalAmount');
  const now = engine.now();
  const expiresAt = expiry(body, now);
  const notifyUrl = optionalUrl(body, 'notifyUrl');
  const returnUrl = optionalUrl(body, 'returnUrl');
  const billDesc = optionalText(body, 'billDesc', 255);
  if (engine.store.get(billNo)) throw new SimRejection('DUP_ORDER', `重复的订单请求: billNo ${billNo} already exists`);
  const order = newOrder(engine, {
    merOrderId: billNo,
    channel: BILLS,
    instMid,
    totalAmount,
    now,
    expiresAt,
    notifyUrl,
    returnUrl,
    orderDesc: billDesc,
  });
  order.billDate = date;
  order.qrCodeId = optionalText(body, 'qrCodeId', 64) ?? fake.qrCodeId(credentials.sourceId, now);
  order.billQRCode = cashierUrl(engine, order);
  engine.store.add(order);
  engine.log?.info({ billNo, totalAmount }, 'ums-sim: bill QR code created');
  return { billNo, billDate: date, billQRCode: order.billQRCode, qrCodeId: order.qrCodeId, totalAmount };
}

/** The bill a request names by billNo + billDate (both must match). */
function findBill(engine: SimEngine, body: JsonObject): SimOrder {
  const instMid = checkCommon(body, engine.credentials);
  checkInstMid(instMid, BILLS.instMids);
  const billNo = merchantOrderId(body, 'billNo', engine.credentials);
  const date = billDate(body);
  const order = engine.store.get(billNo);
  if (!order || order.channel !== BILLS || order.billDate !== date) throw notFound();
  return order;
}

export function billQueryAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const order = findBill(engine, body);
  const payment = billPayment(order, order.status);
  return {
    billNo: order.merOrderId,
    billDate: order.billDate,
    billQRCode: order.billQRCode,
    qrCodeId: order.qrCodeId,
    billStatus: billStatusOf(order.status),
    totalAmount: order.totalAmount,
    createTime: dateTime(order.createdAt),
    ...(order.orderDesc ? { billDesc: order.orderDesc } : {}),
    ...(payment ? { billPayment: { ...payment, ...(order.refundedAmount > 0 ? { refundAmount: order.refundedAmount } : {}) } } : {}),
  };
}

export function billRefundAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const order = findBill(engine, body);
  const refund = performRefund(engine, order, body);
  return { ...refundFields(order, refund), billNo: order.merOrderId, billDate: order.billDate, billStatus: billStatusOf(order.status) };
}

export function closeQrCodeAnswer(engine: SimEngine, body: JsonObject): Record<string, unknown> {
  const instMid = checkCommon(body, engine.credentials);
  checkInstMid(instMid, BILLS.instMids);
  const qrCodeId = optionalText(body, 'qrCodeId', 64);
  if (!qrCodeId) throw badRequest('qrCodeId is required');
  const order = engine.store.findByQrCodeId(qrCodeId);
  if (!order) throw notFound();
  if (!engine.store.isOpen(order)) {
    throw new SimRejection('OPERATION_NOT_ALLOWED', `账单状态不允许关闭: bill is ${billStatusOf(order.status)}`);
  }
  engine.store.close(order);
  return { qrCodeId, billNo: order.merOrderId, billStatus: billStatusOf(order.status) };
}
