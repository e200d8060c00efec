/**
 * H5 pages (PROTOCOL.md §3): the browser's OPEN-FORM-PARAM GET, the 302 to the simulator's
 * cashier page, and a person clicking Pay or Cancel there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyNotifySign } from '../../src/ums/sign.js';
import { startFixture, type Fixture } from './support/fixture.js';
import { CREDS, formParamUrl, orderId, withCommon } from './support/raw.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => fx.close());

const content = (merOrderId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify(withCommon({ instMid: 'H5DEFAULT', merOrderId, totalAmount: 990, orderDesc: 'A&B=C 咖啡券', notifyUrl: fx.receiver.url, ...extra }));

describe('OPEN-FORM-PARAM GET', () => {
  it('redirects to the cashier, which offers Pay and Cancel', async () => {
    const merOrderId = orderId();
    const res = await fetch(formParamUrl(fx.sim.url, '/v1/netpay/trade/h5-pay', content(merOrderId)), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location).toBe(`${fx.sim.url}/_sim/cashier/${merOrderId}`);
    const page = await fetch(location);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('¥9.90');
    expect(html).toContain('A&#38;B=C 咖啡券');
    expect(html).toMatch(/<button[^>]*>Pay/);
    expect(html).toMatch(/<button[^>]*>Cancel/);
    // Opening the cashier means the buyer started paying.
    expect(fx.sim.order(merOrderId)?.status).toBe('WAIT_BUYER_PAY');
  });

  it('lets the same URL be opened twice while the order is open', async () => {
    const url = formParamUrl(fx.sim.url, '/v1/netpay/wxpay/h5-pay', content(orderId()));
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(302);
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(302);
  });

  it('refuses a wrong signature, a missing parameter and bad content', async () => {
    const bad = await fetch(formParamUrl(fx.sim.url, '/v1/netpay/uac/order', content(orderId()), { appKey: 'nope' }), { redirect: 'manual' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ errCode: 'BAD_SIGN' });
    const noTimestamp = formParamUrl(fx.sim.url, '/v1/netpay/uac/order', content(orderId())).replace(/&timestamp=\d+/, '');
    const r2 = await fetch(noTimestamp, { redirect: 'manual' });
    expect(r2.status).toBe(400);
    expect(await r2.json()).toMatchObject({ errCode: '1000' });
    const wrongInst = await fetch(formParamUrl(fx.sim.url, '/v1/netpay/uac/order', content(orderId(), { instMid: 'MINIDEFAULT' })), { redirect: 'manual' });
    expect(wrongInst.status).toBe(400);
    expect(await wrongInst.json()).toMatchObject({ errCode: 'BAD_REQUEST' });
  });

  it('refuses a POST to an H5 path (it is a GET API)', async () => {
    const res = await fetch(`${fx.sim.url}/v1/netpay/trade/h5-pay`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
  });
});

describe('the cashier page', () => {
  it('Pay: the order is paid, the merchant notified, the browser sent back to returnUrl', async () => {
    const merOrderId = orderId();
    await fetch(formParamUrl(fx.sim.url, '/v1/netpay/wxpay/h5-pay', content(merOrderId, { returnUrl: 'https://merchant.example.com/done?o=1' })), { redirect: 'manual' });
    const res = await fetch(`${fx.sim.url}/_sim/cashier/${merOrderId}/pay`, { method: 'POST', redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('https://merchant.example.com/done?o=1');
    const d = await fx.sim.waitForDelivery((x) => x.merOrderId === merOrderId);
    expect(d.fields).toMatchObject({ status: 'TRADE_SUCCESS', targetSys: 'WXPay', instMid: 'H5DEFAULT' });
    expect(verifyNotifySign(d.fields, [CREDS.notifyKey]).ok).toBe(true);
  });

  it('Cancel without returnUrl: a result page, the order TRADE_CLOSED', async () => {
    const merOrderId = orderId();
    await fetch(formParamUrl(fx.sim.url, '/v1/netpay/trade/h5-pay', content(merOrderId)), { redirect: 'manual' });
    const res = await fetch(`${fx.sim.url}/_sim/cashier/${merOrderId}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('TRADE_CLOSED');
    expect(fx.sim.order(merOrderId)?.status).toBe('TRADE_CLOSED');
    const page = await (await fetch(`${fx.sim.url}/_sim/cashier/${merOrderId}`)).text();
    expect(page).not.toMatch(/<button/);
  });

  it('answers 404 for an unknown order', async () => {
    expect((await fetch(`${fx.sim.url}/_sim/cashier/${orderId()}`)).status).toBe(404);
  });
});
