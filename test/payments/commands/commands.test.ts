import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO } from '../../../src/config.js';
import { payments } from '../../../src/db/schema.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { describeEachDatabase } from '../../support/db.js';
import { WECHAT, once, startSlice, type Slice } from '../sync/harness.js';

describeEachDatabase('payment commands against the simulator', (kind) => {
  let s: Slice;
  beforeAll(async () => {
    s = await startSlice(await kind.open());
  });
  afterAll(async () => {
    await s?.close();
    await s?.database.close();
  });

  const countPayments = async () => (await s.database.db.select({ id: payments.merOrderId }).from(payments)).length;

  it('creates a WeChat mini order: stored NEW_ORDER first, then UMS answer, payParams for wx.requestPayment', async () => {
    const { payment, payParams } = await s.service.create({ ...WECHAT, totalAmount: 1250, description: '拿铁×2' }, {});
    expect(payment.merOrderId).toMatch(new RegExp(`^${DEMO.sourceId}[0-9A-Za-z]{23}$`));
    expect(payment).toMatchObject({ channel: 'WECHAT_MINI', totalAmount: 1250, mid: DEMO.mid, tid: DEMO.tid, instMid: 'MINIDEFAULT' });
    expect(['NEW_ORDER', 'WAIT_BUYER_PAY']).toContain(payment.status);
    expect(payment.targetSys).toBe('WXPay');
    expect(payParams).toMatchObject({ signType: 'RSA' });
    expect(s.sim.order(payment.merOrderId)).toMatchObject({ totalAmount: 1250 });
    const events = await s.events(payment.merOrderId);
    expect(events[0]).toMatchObject({ source: 'MUTATION', status: 'NEW_ORDER', previousStatus: null });
  });

  it('refuses bad input with a specific message, storing nothing and calling nobody', async () => {
    const before = await countPayments();
    const simOrders = s.sim.orders().length;
    const cases: [Parameters<Slice['service']['create']>[0], string, RegExp][] = [
      [{ ...WECHAT, totalAmount: 0 }, 'totalAmount', /1 to 100000000/],
      [{ ...WECHAT, totalAmount: 100_000_001 }, 'totalAmount', /1 to 100000000/],
      [{ ...WECHAT, totalAmount: 1.5 }, 'totalAmount', /whole number/],
      [{ ...WECHAT, totalAmount: 1, merOrderId: '9999ABCDEFG' }, 'merOrderId', /start with the source number 3194/],
      [{ ...WECHAT, totalAmount: 1, merOrderId: '3194-bad' }, 'merOrderId', /6 to 64 letters and digits/],
      [{ channel: 'WECHAT_MINI', totalAmount: 1 }, 'subOpenId', /required for WECHAT_MINI/],
      [{ channel: 'ALIPAY_MINI', totalAmount: 1 }, 'userId', /required for ALIPAY_MINI/],
      [{ channel: 'CASH' as never, totalAmount: 1 }, 'channel', /channel must be one of/],
      [{ ...WECHAT, totalAmount: 1, expireTime: new Date(Date.now() - 1000) }, 'expireTime', /future/],
    ];
    for (const [input, field, message] of cases) {
      const err = await s.service.create(input, {}).catch((e: unknown) => e);
      expect(err, field).toMatchObject({ name: 'PaymentError', code: 'BAD_USER_INPUT', details: { field } });
      expect((err as Error).message).toMatch(message);
    }
    expect(await countPayments()).toBe(before);
    expect(s.sim.orders().length).toBe(simOrders);
  });

  it('answers a QR code for QR_CODE and a signed pay URL for H5 (no HTTP call)', async () => {
    const qr = await s.service.create({ channel: 'QR_CODE', totalAmount: 3000, description: '停车费' }, {});
    expect(qr.qrCode).toMatch(/^https?:\/\//);
    expect(qr.payment).toMatchObject({ channel: 'QR_CODE', instMid: 'QRPAYDEFAULT' });

    const simOrders = s.sim.orders().length;
    const h5 = await s.service.create({ channel: 'H5_ALIPAY', totalAmount: 990, returnUrl: 'https://shop.example/done' }, {});
    expect(h5.payUrl).toMatch(new RegExp(`^${s.sim.url}/v1/netpay/trade/h5-pay\\?authorization=OPEN-FORM-PARAM&appId=`));
    expect(h5.payUrl).toContain('signature=');
    expect(h5.payment).toMatchObject({ status: 'NEW_ORDER', channel: 'H5_ALIPAY', instMid: 'H5DEFAULT' });
    expect(s.sim.orders().length).toBe(simOrders);
  });

  it('honours an Idempotency-Key: same input → the first answer, one order at UMS; other input → refused', async () => {
    const key = `idem-${Date.now()}`;
    const input = { channel: 'ALIPAY_MINI' as const, totalAmount: 500, userId: '2088102175953034' };
    const first = await s.service.create(input, { idempotencyKey: key });
    const again = await s.service.create({ ...input }, { idempotencyKey: key });
    expect(again.payment.merOrderId).toBe(first.payment.merOrderId);
    expect(again.payParams).toEqual(first.payParams);
    expect(again.payment.createdAt).toEqual(first.payment.createdAt);
    expect(s.sim.orders().filter((o) => o.merOrderId === first.payment.merOrderId)).toHaveLength(1);
    await expect(s.service.create({ ...input, totalAmount: 501 }, { idempotencyKey: key })).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    // Two at once with a new key: one order.
    const key2 = `idem2-${Date.now()}`;
    const [a, b] = await Promise.all([
      s.service.create(input, { idempotencyKey: key2 }),
      s.service.create(input, { idempotencyKey: key2 }),
    ]);
    expect(a.payment.merOrderId).toBe(b.payment.merOrderId);
  });

  it('leaves a payment UNKNOWN (not failed) when UMS answers 503 after creating it; sync then finds it', async () => {
    s.sim.scenario({ kind: 'http-error', status: 503, apply: true, path: '/v1/netpay/wx/unified-order' });
    const { payment, payParams } = await s.service.create({ ...WECHAT, totalAmount: 700 }, {});
    expect(payment.status).toBe('UNKNOWN');
    expect(payParams).toBeUndefined();
    expect(s.sim.order(payment.merOrderId)).toBeDefined();
    const synced = await s.service.sync(payment.merOrderId);
    expect(['NEW_ORDER', 'WAIT_BUYER_PAY', 'UNKNOWN']).toContain(synced.status);
    s.sim.pay(payment.merOrderId, { notify: false });
    expect((await s.service.sync(payment.merOrderId)).status).toBe('TRADE_SUCCESS');
  });

  it('an H5 order UMS has not seen yet stays NEW_ORDER on sync; once it can no longer be paid it is closed', async () => {
    const { payment } = await s.service.create({ channel: 'H5_WECHAT', totalAmount: 66 }, {});
    const synced = await s.service.sync(payment.merOrderId);
    expect(synced).toMatchObject({ status: 'NEW_ORDER', version: payment.version });

    const impatient = new PaymentService({ db: s.database.db, ums: s.ops, client: s.client, sourceId: DEMO.sourceId, syncAfterMs: 60_000, unknownAtUmsCloseMs: 0 });
    const closed = await impatient.sync(payment.merOrderId);
    expect(closed.status).toBe('TRADE_CLOSED');
    expect((await s.events(payment.merOrderId)).at(-1)).toMatchObject({ status: 'TRADE_CLOSED', payload: { errCode: 'NO_ORDER' } });
  });

  it('a merOrderId given twice is a CONFLICT before UMS is called', async () => {
    const merOrderId = `${DEMO.sourceId}DUP${Date.now()}`;
    await s.service.create({ ...WECHAT, totalAmount: 100, merOrderId }, {});
    await expect(s.service.create({ ...WECHAT, totalAmount: 100, merOrderId }, {})).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('syncs a payment whose notification was lost (source SYNC)', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 1000 }, {});
    s.sim.pay(payment.merOrderId, { notify: false });
    const synced = await s.service.sync(payment.merOrderId);
    expect(synced).toMatchObject({ status: 'TRADE_SUCCESS', buyerPayAmount: 1000 });
    expect(synced.payTime).toBeInstanceOf(Date);
    const events = await s.events(payment.merOrderId);
    expect(events.at(-1)).toMatchObject({ status: 'TRADE_SUCCESS', source: 'SYNC' });
    await expect(s.service.sync('3194NOSUCHORDER1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('closes an unpaid order at UMS; a paid one cannot be closed', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 100 }, {});
    const closed = await s.service.close(payment.merOrderId);
    expect(closed.status).toBe('TRADE_CLOSED');
    expect(s.sim.order(payment.merOrderId)?.status).toBe('TRADE_CLOSED');

    const paid = await s.service.create({ ...WECHAT, totalAmount: 100 }, {});
    s.sim.pay(paid.payment.merOrderId, { notify: false });
    await s.service.sync(paid.payment.merOrderId);
    await expect(s.service.close(paid.payment.merOrderId)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('simulatePayment drives the simulator, whose notification moves the payment (source NOTIFY)', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 888 }, {});
    const paid = await s.service.simulatePayment!(payment.merOrderId, 'TRADE_SUCCESS');
    expect(paid.status).toBe('TRADE_SUCCESS');
    expect((await s.events(payment.merOrderId)).at(-1)).toMatchObject({ source: 'NOTIFY', status: 'TRADE_SUCCESS' });
    await expect(s.service.simulatePayment!(payment.merOrderId, 'TRADE_SUCCESS')).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('refunds part of a paid order, refuses more than remains locally, and honours Idempotency-Key', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 1250 }, {});
    await s.service.simulatePayment!(payment.merOrderId, 'TRADE_SUCCESS');
    const refund = await s.service.refund({ merOrderId: payment.merOrderId, refundAmount: 500, description: '缺货' }, { idempotencyKey: `r-${payment.merOrderId}` });
    expect(refund).toMatchObject({ merOrderId: payment.merOrderId, refundAmount: 500, status: 'SUCCESS' });
    expect(refund.refundOrderId).toMatch(/^3194/);
    const again = await s.service.refund({ merOrderId: payment.merOrderId, refundAmount: 500, description: '缺货' }, { idempotencyKey: `r-${payment.merOrderId}` });
    expect(again.refundOrderId).toBe(refund.refundOrderId);
    expect(await s.payment(payment.merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 500 });
    expect(s.sim.order(payment.merOrderId)?.refundedAmount).toBe(500);

    const over = await s.service.refund({ merOrderId: payment.merOrderId, refundAmount: 751 }, once()).catch((e: unknown) => e);
    expect(over).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'refundAmount' } });
    expect((over as Error).message).toMatch(/750 fen that remain/);
    expect(s.sim.order(payment.merOrderId)?.refunds).toHaveLength(1);

    const unpaid = await s.service.create({ ...WECHAT, totalAmount: 100 }, {});
    await expect(s.service.refund({ merOrderId: unpaid.payment.merOrderId, refundAmount: 1 }, once())).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(s.service.refund({ merOrderId: '3194NOSUCHORDER2', refundAmount: 1 }, once())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('QR codes go through the bills API: paid by scan, refunded, and an unpaid one closed', async () => {
    const { payment } = await s.service.create({ channel: 'QR_CODE', totalAmount: 3000, description: '停车费' }, {});
    s.sim.pay(payment.merOrderId, { notify: false });
    const paid = await s.service.sync(payment.merOrderId);
    expect(paid).toMatchObject({ status: 'TRADE_SUCCESS' });
    const refund = await s.service.refund({ merOrderId: payment.merOrderId, refundAmount: 1000 }, once());
    expect(refund.status).toBe('SUCCESS');
    expect(await s.payment(payment.merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 1000 });

    const unpaid = await s.service.create({ channel: 'QR_CODE', totalAmount: 500 }, {});
    expect((await s.service.close(unpaid.payment.merOrderId)).status).toBe('TRADE_CLOSED');
    expect(s.sim.order(unpaid.payment.merOrderId)?.status).toBe('TRADE_CLOSED');
  });

  it('callUms signs any call and answers what UMS said, refusals included', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 300 }, {});
    const answer = (await s.service.callUms('netpay/query', 'v1', { mid: DEMO.mid, tid: DEMO.tid, instMid: 'MINIDEFAULT', merOrderId: payment.merOrderId })) as Record<string, unknown>;
    expect(answer).toMatchObject({ errCode: 'SUCCESS', merOrderId: payment.merOrderId });
    const missing = (await s.service.callUms('/netpay/query', 'v1', { mid: DEMO.mid, tid: DEMO.tid, instMid: 'MINIDEFAULT', merOrderId: '3194NOSUCHORDER3' })) as Record<string, unknown>;
    expect(missing.errCode).toBe('NO_ORDER');
    await expect(s.service.callUms('netpay/query', 'v1', 'nope')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
