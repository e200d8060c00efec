/**
 * Order creation for every channel (PROTOCOL.md §5.3, §3): the checks each API makes and the
 * answer a mini program, JSAPI page or app needs to start paying.
 */
import { SHORT_ORDER_ID_MAX } from '../ums/ids.js';
import * as fake from './fake-ids.js';
import type { SimEngine } from './engine.js';
import { MER_NAME } from './messages.js';
import { SimRejection, badRequest } from './errors.js';
import type { ChannelSpec, JsonObject, SimOrder } from './types.js';
import { amount, checkCommon, division, checkInstMid, expiry, merchantOrderId, optionalText, optionalUrl, requiredText } from './validate.js';


/** A boolean flag as clients send it: true or "true". */
function flag(body: JsonObject, name: string): boolean {
  const v = body[name];
  if (v === undefined || v === null || v === false || v === 'false') return false;
  if (v === true || v === 'true') return true;
  throw badRequest(`${name} must be true or false`);
}

const TRADE_TYPE_INST_MID: Readonly<Record<string, string>> = { MINI: 'MINIDEFAULT', JSAPI: 'YUEDANDEFAULT', APP: 'APPDEFAULT' };

/** Channel-specific required fields, checked before anything is stored. */
function checkChannelFields(channel: ChannelSpec, instMid: string, body: JsonObject): void {
  if (channel.path === '/v1/netpay/wx/unified-order') {
    const tradeType = requiredText(body, 'tradeType', 16);
    const expected = TRADE_TYPE_INST_MID[tradeType];
    if (!expected) throw badRequest('tradeType must be MINI, JSAPI or APP');
    if (instMid !== expected) throw badRequest(`tradeType ${tradeType} needs instMid ${expected}`);
    // An app pays as itself (its appId), with no openid; mini programs and official accounts as
    // the payer's openid (subAppId may be left out when the merchant's is configured at UMS).
    if (tradeType === 'APP') requiredText(body, 'subAppId', 64);
    else requiredText(body, 'subOpenId', 128);
  }
  if (channel.path === '/v1/netpay/trade/create') requiredText(body, 'userId', 128);
  if (channel.path === '/v1/netpay/wx/app-pre-order') requiredText(body, 'subAppId', 64);
}

/**
 * Checks a create request and stores the order as NEW_ORDER. `reopen` lets an H5 browser open the
 * same pay URL twice; otherwise a merOrderId that exists is DUP_ORDER.
 */
export function createOrder(engine: SimEngine, channel: ChannelSpec, body: JsonObject, reopen = false): SimOrder {
  const { credentials } = engine;
  const instMid = checkCommon(body, credentials);
  checkInstMid(instMid, channel.instMids);
  const merOrderId = merchantOrderId(body, 'merOrderId', credentials);
  const totalAmount = amount(body, 'totalAmount');
  checkChannelFields(channel, instMid, body);
  const now = engine.now();
  const expiresAt = expiry(body, now);
  const notifyUrl = optionalUrl(body, 'notifyUrl');
  const returnUrl = optionalUrl(body, 'returnUrl');
  const orderDesc = optionalText(body, 'orderDesc', 255);
  const attachedData = optionalText(body, 'attachedData', 255);
  const srcReserve = optionalText(body, 'srcReserve', 255);

  if (merOrderId.length > SHORT_ORDER_ID_MAX) {
    // Accepted (sandbox answers show longer ids) but outside what every source agrees on (§5.1).
    engine.log?.warn({ merOrderId, length: merOrderId.length }, `ums-sim: merOrderId longer than ${SHORT_ORDER_ID_MAX} characters`);
  }
  const existing = engine.store.get(merOrderId);
  if (existing) {
    if (reopen && existing.channel === channel && existing.totalAmount === totalAmount && engine.store.isOpen(existing)) {
      return existing;
    }
    throw new SimRejection('DUP_ORDER', `重复的订单请求: merOrderId ${merOrderId} already exists`);
  }
  const order = newOrder(engine, { merOrderId, channel, instMid, totalAmount, now, expiresAt, notifyUrl, returnUrl, orderDesc });
  if (attachedData) order.attachedData = attachedData;
  if (srcReserve) order.srcReserve = srcReserve;
  const msgId = optionalText(body, 'msgId', 64);
  if (msgId) order.msgId = msgId;
  const subOpenId = optionalText(body, 'subOpenId', 128);
  if (subOpenId) order.subOpenId = subOpenId;
  if (flag(body, 'secureTransaction')) {
    // 担保 and 分账 exclude each other (docs/protocol.md §11).
    if (flag(body, 'divisionFlag') || flag(body, 'asynDivisionFlag')) throw badRequest('secureTransaction cannot be combined with divisionFlag');
    order.secure = true;
  }
  if (flag(body, 'divisionFlag')) {
    // The shares must add up to the order: Σ subOrders.totalAmount + platformAmount = totalAmount.
    const split = division(body);
    const sum = split.subOrders.reduce((a, s) => a + s.totalAmount, 0) + split.platformAmount;
    if (sum !== totalAmount) throw badRequest(`subOrders plus platformAmount (${sum}) must equal totalAmount (${totalAmount})`);
    order.division = split;
  }
  // Alipay hands out its trade number at creation (the mini program passes it to my.tradePay).
  if (channel.targetSys.startsWith('Alipay')) order.targetOrderId = fake.targetOrderId(channel.targetSys, now);
  engine.store.add(order);
  engine.log?.info({ merOrderId, channel: channel.name, totalAmount }, 'ums-sim: order created');
  return order;
}

/** A fresh NEW_ORDER of this merchant, with what every order (or bill) starts with. */
export function newOrder(
  engine: SimEngine,
  init: Pick<SimOrder, 'merOrderId' | 'channel' | 'instMid' | 'totalAmount' | 'expiresAt'> & {
    now: Date;
    notifyUrl: string | undefined;
    returnUrl: string | undefined;
    orderDesc: string | undefined;
  },
): SimOrder {
  const { now, notifyUrl, returnUrl, orderDesc, ...fields } = init;
  return {
    ...fields,
    mid: engine.credentials.mid,
    tid: engine.credentials.tid,
    status: 'NEW_ORDER',
    history: [{ status: 'NEW_ORDER', at: now }],
    createdAt: now,
    seqId: fake.seqId(now),
    refunds: [],
    refundedAmount: 0,
    ...(notifyUrl ? { notifyUrl } : {}),
    ...(returnUrl ? { returnUrl } : {}),
    ...(orderDesc ? { orderDesc } : {}),
  };
}

/** The WeChat open SDK's PayReq (appid, partnerid, prepayid, package, noncestr, timestamp, sign). */
function wechatApp(w: { appId: string; timeStamp: string; nonceStr: string; package: string; paySign: string }): Record<string, string> {
  return { appid: w.appId, partnerid: '1900000109', prepayid: w.package.slice('prepay_id='.length), package: 'Sign=WXPay', noncestr: w.nonceStr, timestamp: w.timeStamp, sign: w.paySign };
}

/** What the payer's side needs, per channel. */
function payRequest(channel: ChannelSpec, order: SimOrder, body: JsonObject, cashierUrl: string): Record<string, unknown> {
  const timeStamp = String(Math.floor(order.createdAt.getTime() / 1000));
  const wechat = (appId: string) => ({
    appId,
    timeStamp,
    nonceStr: fake.nonceStr(),
    package: `prepay_id=${fake.prepayId(order.createdAt)}`,
    signType: 'RSA',
    paySign: fake.fakeSignature(),
  });
  switch (channel.path) {
    case '/v1/netpay/wx/unified-order': {
      if (body.tradeType === 'APP') return { appPayRequest: wechatApp(wechat(String(body.subAppId))) };
      const request = wechat(String(body.subAppId ?? 'wx5f3a1c9d2e8b7a60'));
      return body.tradeType === 'MINI' ? { miniPayRequest: request } : { jsPayRequest: request };
    }
    case '/v1/netpay/trade/create':
      return { jsPayRequest: { tradeNO: order.targetOrderId } };
    case '/v1/netpay/uac/mini-order':
      return { miniPayRequest: { tn: fake.seqId(order.createdAt) + order.merOrderId.slice(-6), cashierUrl } };
    case '/v1/netpay/wx/app-pre-order':
      return { appPayRequest: wechatApp(wechat(String(body.subAppId))) };
    case '/v1/netpay/trade/precreate':
    case '/v1/netpay/trade/app-pre-order':
      return { appPayRequest: { qrCode: cashierUrl }, qrCode: cashierUrl };
    default:
      return { appPayRequest: { tn: fake.seqId(order.createdAt) + order.merOrderId.slice(-6) } };
  }
}

/** POST create: the JSON answer. */
export function createAnswer(engine: SimEngine, channel: ChannelSpec, body: JsonObject): Record<string, unknown> {
  const order = createOrder(engine, channel, body);
  return {
    merOrderId: order.merOrderId,
    totalAmount: order.totalAmount,
    status: order.status,
    seqId: order.seqId,
    settleRefId: order.seqId,
    targetSys: channel.targetSys,
    ...(order.targetOrderId ? { targetOrderId: order.targetOrderId } : {}),
    connectSys: 'UNIONPAY',
    merName: MER_NAME,
    ...payRequest(channel, order, body, cashierUrl(engine, order)),
  };
}

export function cashierUrl(engine: SimEngine, order: SimOrder): string {
  return `${engine.baseUrl}/_sim/cashier/${encodeURIComponent(order.merOrderId)}`;
}
