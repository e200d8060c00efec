/**
 * Orders as UMS keeps them (PROTOCOL.md §5.3–§5.5, §6): creation per channel, query, close,
 * refunds (partial, idempotent, capped), refund-query, bills, expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMiniOrder, startFixture, type Fixture } from './support/fixture.js';
import { CREDS, beijing, call, orderId } from './support/raw.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => fx.close());

const query = (merOrderId: string, instMid = 'MINIDEFAULT') => call(fx.sim.url, '/v1/netpay/query', { instMid, merOrderId });
const refund = (merOrderId: string, refundAmount: number, refundOrderId?: string, instMid = 'MINIDEFAULT') =>
  call(fx.sim.url, '/v1/netpay/refund', { instMid, merOrderId, refundAmount, ...(refundOrderId ? { refundOrderId } : {}) });

describe('creation per channel', () => {
  it('WeChat mini program: miniPayRequest for wx.requestPayment, NEW_ORDER, WXPay', async () => {
    const { merOrderId, answer } = await createMiniOrder(fx.sim, undefined, { msgId: 'm-1', srcReserve: 'r' });
    expect(answer.json).toMatchObject({ errCode: 'SUCCESS', merOrderId, totalAmount: 1250, status: 'NEW_ORDER', targetSys: 'WXPay', msgId: 'm-1', srcReserve: 'r', mid: CREDS.mid, tid: CREDS.tid, instMid: 'MINIDEFAULT' });
    expect(answer.json.responseTimestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const pay = answer.json.miniPayRequest as Record<string, string>;
    expect(pay).toMatchObject({ appId: 'wx1a2b3c4d5e6f7a8b', signType: 'RSA' });
    expect(pay.package).toMatch(/^prepay_id=/);
    expect(pay.timeStamp).toMatch(/^\d{10}$/);
    expect(Object.keys(pay).sort()).toEqual(['appId', 'nonceStr', 'package', 'paySign', 'signType', 'timeStamp']);
  });

  it('WeChat official account (JSAPI, YUEDANDEFAULT): jsPayRequest', async () => {
    const a = await call(fx.sim.url, '/v1/netpay/wx/unified-order', { instMid: 'YUEDANDEFAULT', tradeType: 'JSAPI', subOpenId: 'o1', merOrderId: orderId(), totalAmount: 1 });
    expect(a.json.errCode).toBe('SUCCESS');
    expect(a.json.jsPayRequest).toBeTypeOf('object');
    expect(a.json.miniPayRequest).toBeUndefined();
  });

  it('Alipay mini program: needs userId, answers targetOrderId and jsPayRequest.tradeNO', async () => {
    const merOrderId = orderId();
    expect((await call(fx.sim.url, '/v1/netpay/trade/create', { instMid: 'MINIDEFAULT', merOrderId, totalAmount: 1 })).json.errCode).toBe('BAD_REQUEST');
    const a = await call(fx.sim.url, '/v1/netpay/trade/create', { instMid: 'MINIDEFAULT', merOrderId, totalAmount: 1, userId: '2088102175953034' });
    expect(a.json).toMatchObject({ errCode: 'SUCCESS', targetSys: 'Alipay 2.0' });
    expect(a.json.targetOrderId).toMatch(/^\d{28}$/);
    expect(a.json.jsPayRequest).toEqual({ tradeNO: a.json.targetOrderId });
  });

  it('UnionPay mini program: miniPayRequest, UAC', async () => {
    const a = await call(fx.sim.url, '/v1/netpay/uac/mini-order', { instMid: 'MINIDEFAULT', merOrderId: orderId(), totalAmount: 1 });
    expect(a.json).toMatchObject({ errCode: 'SUCCESS', targetSys: 'UAC' });
    expect(a.json.miniPayRequest).toBeTypeOf('object');
  });

  it('refuses the same merOrderId twice with DUP_ORDER', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    const again = await createMiniOrder(fx.sim, undefined, { merOrderId });
    expect(again.answer.json.errCode).toBe('DUP_ORDER');
  });
});

describe('query and close', () => {
  it('finds an order only under its own instMid, by merOrderId or targetOrderId', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    expect((await query(merOrderId)).json).toMatchObject({ errCode: 'SUCCESS', merOrderId, status: 'NEW_ORDER', totalAmount: 1250 });
    expect((await query(merOrderId, 'H5DEFAULT')).json).toMatchObject({ errCode: 'NO_ORDER', errMsg: '无法找到指定的订单' });
    expect((await query(orderId())).json.errCode).toBe('NO_ORDER');
    fx.sim.pay(merOrderId, { notify: false });
    const paid = (await query(merOrderId)).json;
    expect(paid).toMatchObject({ status: 'TRADE_SUCCESS', buyerPayAmount: 1250, receiptAmount: 1250, targetSys: 'WXPay' });
    expect(paid.payTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(paid.settleDate).toBe(beijing().date);
    const byTarget = await call(fx.sim.url, '/v1/netpay/query', { instMid: 'MINIDEFAULT', targetOrderId: paid.targetOrderId });
    expect(byTarget.json.merOrderId).toBe(merOrderId);
  });

  it('closes an open order, then refuses to close or pay it again', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    const closed = await call(fx.sim.url, '/v1/netpay/close', { instMid: 'MINIDEFAULT', merOrderId });
    expect(closed.json).toMatchObject({ errCode: 'SUCCESS', status: 'TRADE_CLOSED' });
    expect((await query(merOrderId)).json.status).toBe('TRADE_CLOSED');
    expect((await call(fx.sim.url, '/v1/netpay/close', { instMid: 'MINIDEFAULT', merOrderId })).json.errCode).toBe('OPERATION_NOT_ALLOWED');
    expect(() => fx.sim.pay(merOrderId)).toThrow(/TRADE_CLOSED/);
  });

  it('refuses to close a paid order: OPERATION_NOT_ALLOWED', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    fx.sim.pay(merOrderId, { notify: false });
    const a = await call(fx.sim.url, '/v1/netpay/close', { instMid: 'MINIDEFAULT', merOrderId });
    expect(a.json.errCode).toBe('OPERATION_NOT_ALLOWED');
    expect((await query(merOrderId)).json.status).toBe('TRADE_SUCCESS');
  });
});

describe('refunds', () => {
  it('refuses a refund of an unpaid order', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    expect((await refund(merOrderId, 100, orderId())).json.errCode).toBe('OPERATION_NOT_ALLOWED');
  });

  it('refunds partially, is idempotent on refundOrderId, refuses more than remains', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    fx.sim.pay(merOrderId, { notify: false });
    const r1 = orderId();
    const first = await refund(merOrderId, 500, r1);
    expect(first.json).toMatchObject({ errCode: 'SUCCESS', refundStatus: 'SUCCESS', refundOrderId: r1, refundAmount: 500, status: 'TRADE_REFUND', merOrderId });
    const again = await refund(merOrderId, 500, r1);
    expect(again.json.refundTargetOrderId).toBe(first.json.refundTargetOrderId);
    expect((await query(merOrderId)).json).toMatchObject({ status: 'TRADE_REFUND', refundAmount: 500 });

    const tooMuch = await refund(merOrderId, 751, orderId());
    expect(tooMuch.json.errCode).toBe('OPERATION_NOT_ALLOWED');
    const rest = await refund(merOrderId, 750, orderId());
    expect(rest.json).toMatchObject({ errCode: 'SUCCESS', refundAmount: 750 });
    expect((await refund(merOrderId, 1, orderId())).json.errCode).toBe('OPERATION_NOT_ALLOWED');
    expect(fx.sim.order(merOrderId)).toMatchObject({ refundedAmount: 1250, status: 'TRADE_REFUND' });
  });

  it('refuses a refundOrderId without the prefix and one already used by another order', async () => {
    const a = await createMiniOrder(fx.sim, undefined);
    const b = await createMiniOrder(fx.sim, undefined);
    fx.sim.pay(a.merOrderId, { notify: false });
    fx.sim.pay(b.merOrderId, { notify: false });
    expect((await refund(a.merOrderId, 1, 'XXXX12345678')).json.errCode).toBe('INVALID_ORDER');
    const shared = orderId();
    expect((await refund(a.merOrderId, 1, shared)).json.errCode).toBe('SUCCESS');
    expect((await refund(b.merOrderId, 1, shared)).json.errCode).toBe('DUP_ORDER');
  });

  it('answers refund-query by original merOrderId + refundOrderId, and by the refund id alone', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    fx.sim.pay(merOrderId, { notify: false });
    const r1 = orderId();
    const r2 = orderId();
    await refund(merOrderId, 100, r1);
    await refund(merOrderId, 200, r2);
    const q1 = await call(fx.sim.url, '/v1/netpay/refund-query', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId: r1 });
    expect(q1.json).toMatchObject({ errCode: 'SUCCESS', refundStatus: 'SUCCESS', refundOrderId: r1, refundAmount: 100, merOrderId });
    const q2 = await call(fx.sim.url, '/v1/netpay/refund-query', { instMid: 'MINIDEFAULT', merOrderId: r2 });
    expect(q2.json).toMatchObject({ refundOrderId: r2, refundAmount: 200, merOrderId });
    const latest = await call(fx.sim.url, '/v1/netpay/refund-query', { instMid: 'MINIDEFAULT', merOrderId });
    expect(latest.json.refundOrderId).toBe(r2);
    const none = await call(fx.sim.url, '/v1/netpay/refund-query', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId: orderId() });
    expect(none.json.errCode).toBe('NO_ORDER');
  });
});

describe('expiry', () => {
  it('closes an unpaid order once its expireTime has passed (TRADE_CLOSED)', async () => {
    let now = Date.now();
    const local = await startFixture({ now: () => new Date(now) });
    try {
      const expireTime = beijing(new Date(now + 60_000)).dateTime;
      const { merOrderId } = await createMiniOrder(local.sim, undefined, { expireTime });
      const q = () => call(local.sim.url, '/v1/netpay/query', { instMid: 'MINIDEFAULT', merOrderId });
      expect((await q()).json.status).toBe('NEW_ORDER');
      now += 61_000;
      expect((await q()).json.status).toBe('TRADE_CLOSED');
      expect(() => local.sim.pay(merOrderId)).toThrow(/TRADE_CLOSED/);
    } finally {
      await local.close();
    }
  });

  it('gives orders 30 minutes by default', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    const view = fx.sim.order(merOrderId)!;
    const lifetime = Date.parse(view.expiresAt) - Date.parse(view.history[0]!.at);
    expect(lifetime).toBe(30 * 60_000);
  });
});

describe('bills (C-scan-B QR codes)', () => {
  const billDate = () => beijing().date;
  it('creates a QR code, answers bills/query before and after payment, refunds and closes', async () => {
    const billNo = orderId();
    const created = await call(fx.sim.url, '/v1/netpay/bills/get-qrcode', { instMid: 'QRPAYDEFAULT', billNo, billDate: billDate(), totalAmount: 3000, billDesc: '停车费' });
    expect(created.json).toMatchObject({ errCode: 'SUCCESS', billNo, billDate: billDate() });
    expect(created.json.billQRCode).toBe(`${fx.sim.url}/_sim/cashier/${billNo}`);
    expect(created.json.qrCodeId).toBeTypeOf('string');

    const q = () => call(fx.sim.url, '/v1/netpay/bills/query', { instMid: 'QRPAYDEFAULT', billNo, billDate: billDate() });
    expect((await q()).json).toMatchObject({ errCode: 'SUCCESS', billStatus: 'UNPAID', totalAmount: 3000 });
    const wrongDate = await call(fx.sim.url, '/v1/netpay/bills/query', { instMid: 'QRPAYDEFAULT', billNo, billDate: '2020-01-01' });
    expect(wrongDate.json.errCode).toBe('NO_ORDER');

    fx.sim.pay(billNo, { notify: false });
    const paid = (await q()).json;
    expect(paid.billStatus).toBe('PAID');
    expect(paid.billPayment).toMatchObject({ merOrderId: billNo, status: 'TRADE_SUCCESS', totalAmount: 3000, buyerPayAmount: 3000 });

    const refundOrderId = orderId();
    const r = await call(fx.sim.url, '/v1/netpay/bills/refund', { instMid: 'QRPAYDEFAULT', billNo, billDate: billDate(), refundOrderId, refundAmount: 1000 });
    expect(r.json).toMatchObject({ errCode: 'SUCCESS', refundStatus: 'SUCCESS', refundOrderId, billStatus: 'REFUND' });
    const close = await call(fx.sim.url, '/v1/netpay/bills/close-qrcode', { instMid: 'QRPAYDEFAULT', qrCodeId: created.json.qrCodeId });
    expect(close.json.errCode).toBe('OPERATION_NOT_ALLOWED');
  });

  it('closes an unpaid QR code', async () => {
    const billNo = orderId();
    const created = await call(fx.sim.url, '/v1/netpay/bills/get-qrcode', { instMid: 'QRPAYDEFAULT', billNo, billDate: billDate(), totalAmount: 1 });
    const close = await call(fx.sim.url, '/v1/netpay/bills/close-qrcode', { instMid: 'QRPAYDEFAULT', qrCodeId: created.json.qrCodeId });
    expect(close.json).toMatchObject({ errCode: 'SUCCESS', billStatus: 'CLOSED' });
  });

  it('needs QRPAYDEFAULT and a prefixed billNo', async () => {
    expect((await call(fx.sim.url, '/v1/netpay/bills/get-qrcode', { instMid: 'MINIDEFAULT', billNo: orderId(), billDate: billDate(), totalAmount: 1 })).json.errCode).toBe('BAD_REQUEST');
    expect((await call(fx.sim.url, '/v1/netpay/bills/get-qrcode', { instMid: 'QRPAYDEFAULT', billNo: '0000' + beijing().compact, billDate: billDate(), totalAmount: 1 })).json.errCode).toBe('INVALID_ORDER');
  });
});

describe('in-app WeChat through unified-order (tradeType APP, as one SDK sends it)', () => {
  it('needs APPDEFAULT and subAppId, and answers appPayRequest', async () => {
    const fx = await startFixture();
    try {
      const base = { merOrderId: orderId(), totalAmount: 100, tradeType: 'APP' };
      expect((await call(fx.sim.url, '/v1/netpay/wx/unified-order', { ...base, instMid: 'MINIDEFAULT', subAppId: 'wxapp1' })).json.errCode).toBe('BAD_REQUEST');
      expect((await call(fx.sim.url, '/v1/netpay/wx/unified-order', { ...base, instMid: 'APPDEFAULT' })).json.errCode).toBe('BAD_REQUEST');
      const ok = await call(fx.sim.url, '/v1/netpay/wx/unified-order', { ...base, instMid: 'APPDEFAULT', subAppId: 'wxapp1' });
      expect(ok.json.errCode).toBe('SUCCESS');
      expect(ok.json.appPayRequest).toMatchObject({ appid: 'wxapp1', package: 'Sign=WXPay' });
    } finally {
      await fx.close();
    }
  });
});
