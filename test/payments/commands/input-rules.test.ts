/**
 * The rules a command checks before anything is stored or sent, against the simulator over HTTP:
 * - a refund needs an Idempotency-Key or its own refundOrderId, so a retry never refunds twice;
 * - free text that UMS echoes back signed (orderDesc, refundDesc) carries no raw `&` or `=`,
 *   which would let the signed string be re-split into fields nobody sent;
 * - order ids follow the one rule (source prefix, 6 to 64 letters and digits: real UMS ids of
 *   36 characters pass), amounts are whole fen.
 * Each refusal is BAD_USER_INPUT naming the field; nothing is stored and UMS hears nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO } from '../../../src/config.js';
import { payments, refunds } from '../../../src/db/schema.js';
import { describeEachDatabase } from '../../support/db.js';
import { WECHAT, once, startSlice, type Slice } from '../sync/harness.js';

describeEachDatabase('command input rules', (kind) => {
  let s: Slice;
  beforeAll(async () => {
    s = await startSlice(await kind.open());
  });
  afterAll(async () => {
    await s?.close();
    await s?.database.close();
  });

  const counts = async () => ({
    payments: (await s.database.db.select({ id: payments.merOrderId }).from(payments)).length,
    refunds: (await s.database.db.select({ id: refunds.refundOrderId }).from(refunds)).length,
    umsOrders: s.sim.orders().length,
    umsRefunds: s.sim.orders().reduce((n, o) => n + o.refunds.length, 0),
  });

  async function paidOrder(totalAmount: number): Promise<string> {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount }, {});
    s.sim.pay(payment.merOrderId, { notify: false });
    expect((await s.service.sync(payment.merOrderId)).status).toBe('TRADE_SUCCESS');
    return payment.merOrderId;
  }

  async function refused(attempt: Promise<unknown>, field: string, message: RegExp): Promise<void> {
    const err = await attempt.catch((e: unknown) => e);
    expect(err, field).toMatchObject({ name: 'PaymentError', code: 'BAD_USER_INPUT', details: { field } });
    expect((err as Error).message).toMatch(message);
  }

  it('refuses a refund with neither an Idempotency-Key nor a refundOrderId, before anything is stored or sent', async () => {
    const merOrderId = await paidOrder(1000);
    const before = await counts();
    await refused(s.service.refund({ merOrderId, refundAmount: 100 }, {}), 'refundOrderId', /Idempotency-Key.*refundOrderId.*never refund twice/);
    expect(await counts()).toEqual(before);
    expect(await s.payment(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0 });
  });

  it('takes a refund with its own refundOrderId and no key; the same request again never refunds twice', async () => {
    const merOrderId = await paidOrder(1000);
    const refundOrderId = `${DEMO.sourceId}R${Date.now()}`;
    const first = await s.service.refund({ merOrderId, refundOrderId, refundAmount: 300 }, {});
    expect(first).toMatchObject({ refundOrderId, status: 'SUCCESS' });
    await s.service.refund({ merOrderId, refundOrderId, refundAmount: 300 }, {}).catch(() => undefined);
    expect(s.sim.order(merOrderId)?.refundedAmount).toBe(300);
    expect(await s.payment(merOrderId)).toMatchObject({ refundedAmount: 300 });
  });

  it('refuses `&` or `=` in text that UMS signs and echoes back (orderDesc, refundDesc)', async () => {
    const merOrderId = await paidOrder(1000);
    const before = await counts();
    for (const description of ['coffee&status=TRADE_SUCCESS', 'a=b', 'x&y']) {
      await refused(s.service.create({ ...WECHAT, totalAmount: 100, description }, {}), 'description', /must not contain "&" or "="/);
      await refused(s.service.refund({ merOrderId, refundAmount: 10, description }, once()), 'description', /must not contain "&" or "="/);
    }
    expect(await counts()).toEqual(before);
    // Text without them passes, in any script.
    const ok = await s.service.create({ ...WECHAT, totalAmount: 100, description: '拿铁 × 2 (大杯) 50% off' }, {});
    expect(s.sim.order(ok.payment.merOrderId)).toBeDefined();
  });

  it('takes order ids up to 64 letters and digits (UMS ids of 36 pass), and whole fen only', async () => {
    // H5 orders are signed here and sent by the browser: the gateway's own rule is what decides.
    const h5 = { channel: 'H5_WECHAT', totalAmount: 100 } as const;
    const long36 = `${DEMO.sourceId}${'A1'.repeat(16)}`;
    expect(long36).toHaveLength(36);
    expect((await s.service.create({ ...h5, merOrderId: long36 }, {})).payment.merOrderId).toBe(long36);
    const long64 = `${DEMO.sourceId}${'B2'.repeat(30)}`;
    expect((await s.service.create({ ...h5, merOrderId: long64 }, {})).payment.merOrderId).toBe(long64);

    const before = await counts();
    await refused(s.service.create({ ...WECHAT, totalAmount: 100, merOrderId: `${long64}C` }, {}), 'merOrderId', /6 to 64 letters and digits/);
    await refused(s.service.create({ ...WECHAT, totalAmount: 100, merOrderId: DEMO.sourceId }, {}), 'merOrderId', /6 to 64 letters and digits/);
    await refused(s.service.create({ ...WECHAT, totalAmount: 100.5 }, {}), 'totalAmount', /whole number of fen/);
    await refused(s.service.refund({ merOrderId: long36, refundAmount: 0.5 }, once()), 'refundAmount', /whole number of fen/);
    await refused(s.service.refund({ merOrderId: long36, refundAmount: 1, refundOrderId: 'R-1' }, {}), 'refundOrderId', /source number/);
    await refused(s.service.refund({ merOrderId: long36, refundAmount: 1, refundOrderId: `${long64}C` }, {}), 'refundOrderId', /6 to 64/);
    expect(await counts()).toEqual(before);
  });
});
