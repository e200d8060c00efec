/**
 * The notifier (PROTOCOL.md §4): form-encoded POSTs signed per §4.2 with the communication key,
 * a fresh notifyId each, re-sent until the merchant answers SUCCESS; refunds notify TRADE_REFUND.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { verifyNotifySign } from '../../src/ums/sign.js';
import { createMiniOrder, startFixture, type Fixture } from './support/fixture.js';
import { CREDS, beijing, call, independentNotifySign, orderId } from './support/raw.js';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('a payment notification', () => {
  it('is a form POST to the order notifyUrl, signed SHA256 with the communication key', async () => {
    fx = await startFixture();
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url, { attachedData: 'a=1&b=2' });
    fx.sim.pay(merOrderId);
    const [got] = await fx.receiver.waitFor(1);
    expect(got!.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    const f = got!.fields;
    expect(f).toMatchObject({ mid: CREDS.mid, tid: CREDS.tid, instMid: 'MINIDEFAULT', merOrderId, status: 'TRADE_SUCCESS', totalAmount: '1250', targetSys: 'WXPay', buyerPayAmount: '1250', receiptAmount: '1250', signType: 'SHA256', attachedData: 'a=1&b=2', msgType: 'wx.notify' });
    expect(f.notifyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(f.ns).toMatch(/^\w{4}$/);
    expect(f.payTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(f.settleDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(f.targetOrderId).toMatch(/^4200\d{24}$/);
    expect(f.seqId).toMatch(/^\d{11}N$/);
    // Spaces travel as '+', as Java's URLEncoder writes them.
    expect(got!.body).toMatch(/payTime=\d{4}-\d{2}-\d{2}\+\d{2}%3A/);
    expect(f.sign).toMatch(/^[0-9A-F]{64}$/);
    expect(verifyNotifySign(f, [CREDS.notifyKey])).toMatchObject({ ok: true, signType: 'SHA256' });
    expect(f.sign).toBe(independentNotifySign(f, CREDS.notifyKey));
    // Never the appKey.
    expect(verifyNotifySign(f, [CREDS.appKey]).ok).toBe(false);
  });

  it('echoes free text as UMS does: raw & and = in orderDesc, attachedData and srcReserve, signed over the unescaped join', async () => {
    fx = await startFixture();
    const text = { orderDesc: '咖啡&status=TRADE_SUCCESS', attachedData: 'a=1&b=2', srcReserve: 'k=v&totalAmount=1' };
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url, text);
    fx.sim.pay(merOrderId);
    const [got] = await fx.receiver.waitFor(1);
    expect(got!.fields).toMatchObject({ ...text, status: 'TRADE_SUCCESS', totalAmount: '1250' });
    // The form body escapes them; the signed string does not (§4.2), which is the hazard the
    // gateway must meet: the join, re-split on '&', shows fields nobody sent.
    expect(got!.body).toContain(`srcReserve=${encodeURIComponent(text.srcReserve)}`);
    expect(got!.fields.sign).toBe(independentNotifySign(got!.fields, CREDS.notifyKey));
    expect(verifyNotifySign(got!.fields, [CREDS.notifyKey]).ok).toBe(true);
  });

  it('keeps the simulator\'s clock: attempts are stamped with it, as is the prepay_id', async () => {
    // Three minutes behind: inside the allowed skew, and never the real time of an attempt.
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 3 * 60_000);
    fx = await startFixture({ now: () => at });
    const { merOrderId, answer } = await createMiniOrder(fx.sim, fx.receiver.url);
    expect(String((answer.json.miniPayRequest as Record<string, unknown>).package)).toMatch(new RegExp(`^prepay_id=wx${beijing(at).compact}`));
    fx.sim.pay(merOrderId);
    const d = await fx.sim.waitForDelivery((x) => x.merOrderId === merOrderId);
    expect(d.attempts.map((a) => a.at)).toEqual([at]);
  });

  it('is signed MD5 when the simulator is configured so', async () => {
    fx = await startFixture({ notifySignType: 'MD5' });
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.pay(merOrderId);
    const [got] = await fx.receiver.waitFor(1);
    expect(got!.fields.signType).toBe('MD5');
    expect(got!.fields.sign).toMatch(/^[0-9A-F]{32}$/);
    expect(verifyNotifySign(got!.fields, [CREDS.notifyKey])).toMatchObject({ ok: true, signType: 'MD5' });
    expect(got!.fields.sign).toBe(independentNotifySign(got!.fields, CREDS.notifyKey));
  });

  it('is re-sent after each non-SUCCESS answer, with the back-off, until SUCCESS', async () => {
    fx = await startFixture({ notifyBackoffMs: [0, 30, 60, 90] });
    const answers = [{ status: 200, body: 'FAILED' }, { status: 503, body: 'busy' }, { status: 200, body: 'SUCCESS' }];
    fx.receiver.answer = (n) => answers[n] ?? { body: 'SUCCESS' };
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.pay(merOrderId);
    const d = await fx.sim.waitForDelivery((x) => x.merOrderId === merOrderId);
    expect(d.state).toBe('delivered');
    expect(d.attempts.map((a) => [a.httpStatus, a.answer, a.ok])).toEqual([
      [200, 'FAILED', false],
      [503, 'busy', false],
      [200, 'SUCCESS', true],
    ]);
    const received = fx.receiver.received;
    expect(received).toHaveLength(3);
    // The same notification each time (same notifyId and sign), spaced by the back-off.
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(25);
    expect(received[2]!.at - received[1]!.at).toBeGreaterThanOrEqual(55);
  });

  it('treats "success" in lower case, a JSON answer and an unreachable URL as failures, and gives up after the last delay', async () => {
    fx = await startFixture({ notifyBackoffMs: [0, 10, 10] });
    fx.receiver.answer = (n) => ({ body: n === 0 ? 'success' : '{"msg":"SUCCESS"}' });
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.pay(merOrderId);
    const d = await fx.sim.waitForDelivery((x) => x.merOrderId === merOrderId);
    expect(d.state).toBe('gave-up');
    expect(d.attempts).toHaveLength(3);

    const { merOrderId: lost } = await createMiniOrder(fx.sim, 'http://127.0.0.1:9/nowhere');
    fx.sim.pay(lost);
    const unreachable = await fx.sim.waitForDelivery((x) => x.merOrderId === lost);
    expect(unreachable.state).toBe('gave-up');
    expect(unreachable.attempts[0]!.error).toBeTruthy();
  });

  it('is not sent with notify: false (a lost notification); the order is paid all the same', async () => {
    fx = await startFixture();
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    expect(fx.sim.pay(merOrderId, { notify: false }).status).toBe('TRADE_SUCCESS');
    // Every notification is a delivery from the moment it is decided: none means none will come.
    expect(fx.sim.deliveries).toHaveLength(0);
    expect(fx.receiver.received).toHaveLength(0);
  });

  it('says TRADE_CLOSED when the payment fails, without payment fields', async () => {
    fx = await startFixture();
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.pay(merOrderId, { outcome: 'TRADE_CLOSED' });
    const [got] = await fx.receiver.waitFor(1);
    expect(got!.fields.status).toBe('TRADE_CLOSED');
    expect(got!.fields.payTime).toBeUndefined();
    expect(verifyNotifySign(got!.fields, [CREDS.notifyKey]).ok).toBe(true);
  });

  it('goes to the merchant-configured URL when the order has none', async () => {
    fx = await startFixture();
    const local = await startFixture({ notifyUrl: fx.receiver.url });
    try {
      const { merOrderId } = await createMiniOrder(local.sim, undefined);
      local.sim.pay(merOrderId);
      const [got] = await fx.receiver.waitFor(1);
      expect(got!.fields.merOrderId).toBe(merOrderId);
    } finally {
      await local.close();
    }
  });
});

describe('refund notifications', () => {
  it('say TRADE_REFUND with the refund fields and a fresh notifyId for every refund', async () => {
    fx = await startFixture();
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.pay(merOrderId);
    await fx.receiver.waitFor(1);
    const r1 = orderId();
    const r2 = orderId();
    await call(fx.sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId: r1, refundAmount: 200, refundDesc: '部分退款：缺货' });
    await call(fx.sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId: r2, refundAmount: 300 });
    // Repeating a refund (idempotent) notifies nothing new.
    await call(fx.sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId: r2, refundAmount: 300 });
    // Every notification is a delivery from the moment it is decided: three, and no more to come.
    expect(fx.sim.deliveries.map((d) => d.status)).toEqual(['TRADE_SUCCESS', 'TRADE_REFUND', 'TRADE_REFUND']);
    const all = await fx.receiver.waitFor(3);
    const { sim } = fx;
    await Promise.all(sim.deliveries.map((d) => sim.waitForDelivery((x) => x === d)));
    expect(fx.receiver.received).toHaveLength(3);
    const refunds = all.slice(1).map((r) => r.fields).sort((a, b) => Number(a.refundAmount) - Number(b.refundAmount));
    expect(refunds[0]).toMatchObject({ status: 'TRADE_REFUND', refundOrderId: r1, refundAmount: '200', refundDesc: '部分退款：缺货', totalAmount: '1250', refundStatus: 'SUCCESS' });
    expect(refunds[1]).toMatchObject({ status: 'TRADE_REFUND', refundOrderId: r2, refundAmount: '300' });
    for (const f of refunds) {
      expect(f.refundTargetOrderId).toBeTruthy();
      expect(f.refundPayTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(verifyNotifySign(f, [CREDS.notifyKey]).ok).toBe(true);
      expect(f.sign).toBe(independentNotifySign(f, CREDS.notifyKey));
    }
    expect(new Set(all.map((r) => r.fields.notifyId)).size).toBe(3);
  });
});

describe('bills notifications', () => {
  it('use the C-scan-B field set: billNo, billStatus and billPayment as a JSON string', async () => {
    fx = await startFixture();
    const billNo = orderId();
    await call(fx.sim.url, '/v1/netpay/bills/get-qrcode', { instMid: 'QRPAYDEFAULT', billNo, billDate: '2026-01-01', totalAmount: 3000, notifyUrl: fx.receiver.url });
    fx.sim.pay(billNo);
    const [got] = await fx.receiver.waitFor(1);
    const f = got!.fields;
    expect(f).toMatchObject({ billNo, billDate: '2026-01-01', billStatus: 'PAID', instMid: 'QRPAYDEFAULT', totalAmount: '3000' });
    const payment = JSON.parse(f.billPayment!) as Record<string, unknown>;
    expect(payment).toMatchObject({ merOrderId: billNo, status: 'TRADE_SUCCESS', totalAmount: 3000 });
    expect(verifyNotifySign(f, [CREDS.notifyKey]).ok).toBe(true);
    expect(f.sign).toBe(independentNotifySign(f, CREDS.notifyKey));
  });
});
