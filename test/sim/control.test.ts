/**
 * The control endpoints of CONTRACT.md (`POST /_sim/orders/{merOrderId}/pay`) and their friends,
 * spoken over HTTP as a user or another system would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMiniOrder, startFixture, type Fixture } from './support/fixture.js';
import { call, orderId, rawPost } from './support/raw.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => fx.close());

const pay = (merOrderId: string, body?: unknown) =>
  rawPost(`${fx.sim.url}/_sim/orders/${merOrderId}/pay`, body === undefined ? '' : JSON.stringify(body));
const getJson = async (path: string) => {
  const res = await fetch(fx.sim.url + path);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

describe('POST /_sim/orders/{merOrderId}/pay', () => {
  it('pays by default and notifies: WAIT_BUYER_PAY then TRADE_SUCCESS with payment facts', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    const res = await pay(merOrderId);
    expect(res.status).toBe(200);
    const order = res.json.order as Record<string, unknown>;
    expect(order).toMatchObject({ merOrderId, status: 'TRADE_SUCCESS', targetSys: 'WXPay', settleDate: expect.any(String) });
    expect((order.history as { status: string }[]).map((h) => h.status)).toEqual(['NEW_ORDER', 'WAIT_BUYER_PAY', 'TRADE_SUCCESS']);
    const deliveries = res.json.deliveries as Record<string, unknown>[];
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.fields).not.toHaveProperty('sign');
    await fx.receiver.waitFor(1);
  });

  it('closes with outcome TRADE_CLOSED and stays silent with notify: false', async () => {
    const before = fx.receiver.received.length;
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    const res = await pay(merOrderId, { outcome: 'TRADE_CLOSED', notify: false });
    expect((res.json.order as Record<string, unknown>).status).toBe('TRADE_CLOSED');
    expect(res.json.deliveries).toEqual([]);
    // Every notification is a delivery from the moment it is decided: none for this order.
    expect(fx.sim.deliveries.filter((d) => d.merOrderId === merOrderId)).toHaveLength(0);
    expect(fx.receiver.received).toHaveLength(before);
    const q = await call(fx.sim.url, '/v1/netpay/query', { instMid: 'MINIDEFAULT', merOrderId });
    expect(q.json.status).toBe('TRADE_CLOSED');
  });

  it('answers 404 for an unknown order, 409 for a settled one, 400 for a bad body', async () => {
    expect((await pay(orderId())).status).toBe(404);
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    expect((await pay(merOrderId, { outcome: 'PAID' })).status).toBe(400);
    expect((await pay(merOrderId, { notify: 'no' })).status).toBe(400);
    expect((await rawPost(`${fx.sim.url}/_sim/orders/${merOrderId}/pay`, '{oops')).status).toBe(400);
    expect((await pay(merOrderId)).status).toBe(200);
    const again = await pay(merOrderId);
    expect(again.status).toBe(409);
    expect(again.json.error).toMatch(/TRADE_SUCCESS/);
  });
});

describe('inspection and other controls', () => {
  it('shows an order, all orders and the deliveries (without signatures)', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    await pay(merOrderId);
    await fx.sim.waitForDelivery((d) => d.merOrderId === merOrderId);
    expect((await getJson(`/_sim/orders/${merOrderId}`)).json).toMatchObject({ merOrderId, status: 'TRADE_SUCCESS' });
    expect((await getJson(`/_sim/orders/${orderId()}`)).status).toBe(404);
    const all = (await getJson('/_sim/orders')).json.orders as { merOrderId: string }[];
    expect(all.map((o) => o.merOrderId)).toContain(merOrderId);
    const deliveries = (await getJson(`/_sim/deliveries?merOrderId=${merOrderId}`)).json.deliveries as Record<string, unknown>[];
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ state: 'delivered', status: 'TRADE_SUCCESS' });
    expect(JSON.stringify(deliveries)).not.toMatch(/"sign"/);
  });

  it('re-sends a notification on demand with a fresh notifyId', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    await pay(merOrderId);
    const first = await fx.sim.waitForDelivery((d) => d.merOrderId === merOrderId);
    const res = await rawPost(`${fx.sim.url}/_sim/orders/${merOrderId}/notify`, '{}');
    expect(res.status).toBe(200);
    const again = await fx.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d !== first);
    expect(again.notifyId).not.toBe(first.notifyId);
    expect(again.fields.status).toBe('TRADE_SUCCESS');
  });

  it('expires tokens and resets the state', async () => {
    const expired = await rawPost(`${fx.sim.url}/_sim/tokens/expire`, '');
    expect(expired.json).toHaveProperty('expired');
    const reset = await rawPost(`${fx.sim.url}/_sim/reset`, '');
    expect(reset.json).toEqual({ reset: true });
    expect(((await getJson('/_sim/orders')).json.orders as unknown[]).length).toBe(0);
    expect((await getJson('/_sim/nothing')).status).toBe(404);
  });
});

describe('what reconciliation tests need from the control endpoints', () => {
  it('"amount" makes UMS record another paid amount: the query and the notification say so', async () => {
    const before = fx.receiver.received.length;
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    const res = await pay(merOrderId, { amount: 77 });
    expect(res.status).toBe(200);
    await fx.receiver.waitFor(before + 1);
    const fields = (res.json.deliveries as { fields: Record<string, string> }[])[0]!.fields;
    expect(fields.totalAmount).toBe('77');
    const q = await call(fx.sim.url, '/v1/netpay/query', { instMid: 'MINIDEFAULT', merOrderId });
    expect(q.json).toMatchObject({ status: 'TRADE_SUCCESS', totalAmount: 77, buyerPayAmount: 77 });
    const { merOrderId: other } = await createMiniOrder(fx.sim, undefined);
    for (const amount of [0, -1, 1.5, '77', 100_000_001]) expect((await pay(other, { amount })).status).toBe(400);
    expect((await pay(other, { amount: 5, outcome: 'TRADE_CLOSED' })).status).toBe(400);
  });

  it('GET /_sim/orders?date= lists the orders created that Beijing day', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, undefined);
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const listed = await getJson(`/_sim/orders?date=${today}`);
    expect((listed.json.orders as { merOrderId: string }[]).map((o) => o.merOrderId)).toContain(merOrderId);
    expect((await getJson('/_sim/orders?date=2001-01-01')).json.orders).toEqual([]);
    expect((await getJson('/_sim/orders?date=today')).status).toBe(400);
  });
});
