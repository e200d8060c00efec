/**
 * The real UMS client (src/ums/client.ts, operations.ts) against the simulator, in both auth
 * modes, for every operation: the two were written from PROTOCOL.md by different people, so a
 * misunderstanding on either side fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UmsClient } from '../../src/ums/client.js';
import { UmsAuthError, UmsBusinessError, UmsTransportError } from '../../src/ums/errors.js';
import { UmsOperations, instMidFor } from '../../src/ums/operations.js';
import { verifyNotifySign } from '../../src/ums/sign.js';
import { startFixture, type Fixture } from './support/fixture.js';
import { CREDS, beijing, independentNotifySign, orderId } from './support/raw.js';
import { PROTOCOL_OUTCOME_UNKNOWN_ERR_CODES } from '../ums/protocol.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => fx.close());

const merchant = () => ({ mid: CREDS.mid, tid: CREDS.tid, sourceId: CREDS.sourceId, notifyUrl: fx.receiver.url });

describe.each(['body-sig', 'token'] as const)('UmsClient in %s mode', (authMode) => {
  let client: UmsClient;
  let ops: UmsOperations;
  beforeAll(() => {
    client = new UmsClient({ baseUrl: fx.sim.url, appId: CREDS.appId, appKey: CREDS.appKey, authMode });
    ops = new UmsOperations(client, merchant());
  });
  afterAll(async () => client.close());

  it('creates a WeChat mini order, sees it paid, refunds part of it and finds the refund', async () => {
    const merOrderId = orderId();
    const created = await ops.createOrder('WECHAT_MINI', { merOrderId, totalAmount: 1250, subOpenId: 'oQx9a5bC7dE1fG3hJ5kL7mN9pQr', orderDesc: '拿铁×2' });
    expect(created).toMatchObject({ merOrderId, status: 'NEW_ORDER', targetSys: 'WXPay' });
    expect(created.payParams).toMatchObject({ signType: 'RSA' });
    expect(String(created.payParams?.package)).toMatch(/^prepay_id=/);

    const instMid = instMidFor('WECHAT_MINI');
    expect((await ops.query({ merOrderId }, instMid)).status).toBe('NEW_ORDER');
    fx.sim.pay(merOrderId);
    const delivered = await fx.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.status === 'TRADE_SUCCESS');
    expect(delivered.state).toBe('delivered');
    const paid = await ops.query({ merOrderId }, instMid);
    expect(paid).toMatchObject({ status: 'TRADE_SUCCESS', totalAmount: 1250, buyerPayAmount: 1250, receiptAmount: 1250 });

    const refundOrderId = orderId();
    const refund = await ops.refund({ merOrderId, refundOrderId, refundAmount: 500 }, instMid);
    expect(refund).toMatchObject({ refundStatus: 'SUCCESS', refundOrderId, refundAmount: 500, status: 'TRADE_REFUND' });
    const again = await ops.refund({ merOrderId, refundOrderId, refundAmount: 500 }, instMid);
    expect(again.refundTargetOrderId).toBe(refund.refundTargetOrderId);
    const found = await ops.refundQuery({ merOrderId, refundOrderId }, instMid);
    expect(found).toMatchObject({ refundStatus: 'SUCCESS', refundOrderId, refundAmount: 500 });

    const refundNote = await fx.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.status === 'TRADE_REFUND');
    expect(verifyNotifySign(refundNote.fields, [CREDS.notifyKey]).ok).toBe(true);
    expect(refundNote.fields.sign).toBe(independentNotifySign(refundNote.fields, CREDS.notifyKey));

    const over = await ops.refund({ merOrderId, refundOrderId: orderId(), refundAmount: 751 }, instMid).catch((e: unknown) => e);
    expect(over).toBeInstanceOf(UmsBusinessError);
    expect(over).toMatchObject({ errCode: 'OPERATION_NOT_ALLOWED', outcomeUnknown: false });
  });

  it('creates Alipay and UnionPay mini orders, closes one, is refused closing a paid one', async () => {
    const alipay = orderId();
    const a = await ops.createOrder('ALIPAY_MINI', { merOrderId: alipay, totalAmount: 100, userId: '2088102175953034' });
    expect(a.targetOrderId).toMatch(/^\d{28}$/);
    expect(a.payParams).toEqual({ tradeNO: a.targetOrderId });
    expect((await ops.close({ merOrderId: alipay }, instMidFor('ALIPAY_MINI'))).status).toBe('TRADE_CLOSED');

    const uac = orderId();
    const u = await ops.createOrder('UNIONPAY_MINI', { merOrderId: uac, totalAmount: 100 });
    expect(u).toMatchObject({ status: 'NEW_ORDER', targetSys: 'UAC' });
    fx.sim.pay(uac, { notify: false });
    const closing = await ops.close({ merOrderId: uac }, instMidFor('UNIONPAY_MINI')).catch((e: unknown) => e);
    expect(closing).toMatchObject({ errCode: 'OPERATION_NOT_ALLOWED' });
  });

  it('creates a QR code bill, queries, refunds and closes through the bills API', async () => {
    const billNo = orderId();
    const created = await ops.createOrder('QR_CODE', { merOrderId: billNo, totalAmount: 3000, orderDesc: '停车费' });
    expect(created.qrCode).toBe(`${fx.sim.url}/_sim/cashier/${billNo}`);
    const billDate = created.billDate ?? beijing().date;
    expect((await ops.billsQuery({ billNo, billDate })).billStatus).toBe('UNPAID');
    fx.sim.pay(billNo, { notify: false });
    const paid = await ops.billsQuery({ billNo, billDate });
    expect(paid.billStatus).toBe('PAID');
    const refund = await ops.billsRefund({ billNo, billDate, refundOrderId: orderId(), refundAmount: 1000 });
    expect(refund).toMatchObject({ refundStatus: 'SUCCESS', billStatus: 'REFUND' });

    const other = orderId();
    const open = await ops.createOrder('QR_CODE', { merOrderId: other, totalAmount: 1 });
    const closed = await ops.billsCloseQrCode(open.qrCodeId!);
    expect(closed.errCode).toBe('SUCCESS');
    expect(fx.sim.order(other)?.status).toBe('TRADE_CLOSED');
  });

  it.each(['H5_WECHAT', 'H5_ALIPAY', 'H5_UNIONPAY'] as const)('builds a %s pay URL the simulator accepts (302 to its cashier)', async (channel) => {
    const merOrderId = orderId();
    const created = await ops.createOrder(channel, { merOrderId, totalAmount: 990, orderDesc: 'A+B/C?%# 咖啡券', returnUrl: 'https://merchant.example.com/done?o=1&x=2' });
    const res = await fetch(created.payUrl!, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${fx.sim.url}/_sim/cashier/${merOrderId}`);
    expect(fx.sim.order(merOrderId)).toMatchObject({ status: 'NEW_ORDER', totalAmount: 990, instMid: 'H5DEFAULT' });
  });

  it('reports an ambiguous errCode and a 5xx as outcome unknown', async () => {
    fx.sim.scenario({ kind: 'errcode', errCode: 'TIMEOUT', path: '/v1/netpay/refund' });
    const merOrderId = orderId();
    await ops.createOrder('WECHAT_MINI', { merOrderId, totalAmount: 100, subOpenId: 'o1' });
    fx.sim.pay(merOrderId, { notify: false });
    const refundOrderId = orderId();
    const err = await ops.refund({ merOrderId, refundOrderId, refundAmount: 100 }, 'MINIDEFAULT').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UmsBusinessError);
    expect(err).toMatchObject({ errCode: 'TIMEOUT', outcomeUnknown: true });
    // The refund did happen (apply defaults to true): only a query tells.
    expect((await ops.refundQuery({ merOrderId, refundOrderId }, 'MINIDEFAULT')).refundStatus).toBe('SUCCESS');

    fx.sim.scenario({ kind: 'http-error', status: 502, path: '/v1/netpay/query' });
    const failed = await ops.query({ merOrderId }, 'MINIDEFAULT').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(UmsTransportError);
    expect(failed).toMatchObject({ httpStatus: 502 });
  });

  it('agrees with the simulator on every errCode after which the outcome is unknown (PROTOCOL.md §5.1)', async () => {
    for (const errCode of PROTOCOL_OUTCOME_UNKNOWN_ERR_CODES) {
      fx.sim.scenario({ kind: 'errcode', errCode, apply: false, path: '/v1/netpay/close' });
      const err = await ops.close({ merOrderId: orderId() }, 'MINIDEFAULT').catch((e: unknown) => e);
      expect(err, errCode).toBeInstanceOf(UmsBusinessError);
      expect(err, errCode).toMatchObject({ errCode, outcomeUnknown: true });
    }
  });

  it('is refused with UmsAuthError when its appKey is wrong', async () => {
    const wrong = new UmsClient({ baseUrl: fx.sim.url, appId: CREDS.appId, appKey: 'wrong-key', authMode });
    try {
      const err = await new UmsOperations(wrong, merchant()).query({ merOrderId: orderId() }, 'MINIDEFAULT').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UmsAuthError);
      expect((err as Error).message).not.toContain('wrong-key');
    } finally {
      await wrong.close();
    }
  });
});

describe('token mode refresh', () => {
  it('fetches a new token when the simulator says the old one expired, and the call succeeds', async () => {
    const client = new UmsClient({ baseUrl: fx.sim.url, appId: CREDS.appId, appKey: CREDS.appKey, authMode: 'token' });
    const ops = new UmsOperations(client, merchant());
    try {
      const merOrderId = orderId();
      await ops.createOrder('WECHAT_MINI', { merOrderId, totalAmount: 100, subOpenId: 'o1' });
      expect(fx.sim.expireTokens()).toBeGreaterThan(0);
      expect((await ops.query({ merOrderId }, 'MINIDEFAULT')).status).toBe('NEW_ORDER');
    } finally {
      await client.close();
    }
  });
});
