/**
 * The cashier page as a person uses it (CONTRACT.md "Demo storefront"): labelled as the simulator,
 * Pay and Cancel and the scripted outcomes as buttons with stable hooks, each outcome arming its
 * scenario for that order only. Driven over HTTP as a browser's form posts would be.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, createMiniOrder, type Fixture } from './support/fixture.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => fx.close());

async function openOrder(): Promise<string> {
  const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
  return merOrderId;
}

const cashier = (merOrderId: string, action = '') => `${fx.sim.url}/_sim/cashier/${encodeURIComponent(merOrderId)}${action ? `/${action}` : ''}`;
const post = (merOrderId: string, action: string) => fetch(cashier(merOrderId, action), { method: 'POST' });
const deliveriesOf = (merOrderId: string) => fx.sim.deliveries.filter((d) => d.merOrderId === merOrderId);

describe('the cashier page', () => {
  it('says it is the simulator and offers every action under its data-testid', async () => {
    const merOrderId = await openOrder();
    const html = await (await fetch(cashier(merOrderId))).text();
    expect(html).toContain('UMS simulator');
    expect(html).toContain('No real money moves');
    for (const id of ['pay', 'cancel', 'pay-late', 'pay-twice', 'pay-silent', 'pay-wrong-key', 'pay-slow-refund']) {
      expect(html).toContain(`data-testid="${id}"`);
      expect(html).toContain(`action="/_sim/cashier/${merOrderId}/${id}"`);
    }
    expect(html).toContain('name="viewport"');
  });

  it('pay: TRADE_SUCCESS, notified once', async () => {
    const merOrderId = await openOrder();
    const res = await post(merOrderId, 'pay');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Paid');
    expect(fx.sim.order(merOrderId)?.status).toBe('TRADE_SUCCESS');
    await fx.sim.waitForDelivery((d) => d.merOrderId === merOrderId);
    expect(deliveriesOf(merOrderId)).toHaveLength(1);
  });

  it('cancel: TRADE_CLOSED, and the page offers nothing to pay afterwards', async () => {
    const merOrderId = await openOrder();
    expect(await (await post(merOrderId, 'cancel')).text()).toContain('Cancelled');
    expect(fx.sim.order(merOrderId)?.status).toBe('TRADE_CLOSED');
    const again = await (await fetch(cashier(merOrderId))).text();
    expect(again).not.toContain('data-testid="pay"');
    // A late click changes nothing.
    await post(merOrderId, 'pay');
    expect(fx.sim.order(merOrderId)?.status).toBe('TRADE_CLOSED');
  });

  it('pay-silent: paid with no notification at all', async () => {
    const merOrderId = await openOrder();
    expect((await post(merOrderId, 'pay-silent')).status).toBe(200);
    expect(fx.sim.order(merOrderId)?.status).toBe('TRADE_SUCCESS');
    expect(deliveriesOf(merOrderId)).toHaveLength(0);
  });

  it('pay-twice and pay-wrong-key arm their notification scenarios for that order only', async () => {
    const twice = await openOrder();
    await post(twice, 'pay-twice');
    await fx.sim.waitForDelivery((d) => d.merOrderId === twice && d.scenario === 'duplicate');
    const forged = await openOrder();
    await post(forged, 'pay-wrong-key');
    expect(deliveriesOf(forged)[0]?.scenario).toBe('wrong-key');
    const plain = await openOrder();
    await post(plain, 'pay');
    expect(deliveriesOf(plain)[0]?.scenario).toBeUndefined();
  });

  it('pay-late holds the notification; pay-slow-refund arms a PROCESSING refund for that order', async () => {
    const late = await openOrder();
    await post(late, 'pay-late');
    expect(deliveriesOf(late)[0]?.scenario).toBe('delay');
    expect(deliveriesOf(late)[0]?.attempts).toHaveLength(0);
    const slow = await openOrder();
    await post(slow, 'pay-slow-refund');
    expect(fx.sim.order(slow)?.status).toBe('TRADE_SUCCESS');
    const { scenarios } = (await (await fetch(`${fx.sim.url}/_sim/scenarios`)).json()) as { scenarios: { scenario: Record<string, unknown> }[] };
    expect(scenarios.map((s) => s.scenario)).toContainEqual(expect.objectContaining({ kind: 'refund-processing', merOrderId: slow, settleAfterMs: 10_000 }));
  });

  it('refuses unknown actions, GET on actions, and unknown orders', async () => {
    const merOrderId = await openOrder();
    expect((await post(merOrderId, 'steal')).status).toBe(405);
    expect((await fetch(cashier(merOrderId, 'pay'))).status).toBe(405);
    expect((await fetch(cashier('nope'))).status).toBe(404);
    expect((await fetch(`${fx.sim.url}/_sim/cashier/%E0%A4%A`)).status).toBe(404);
    expect(fx.sim.order(merOrderId)?.status).toBe('NEW_ORDER');
  });
});
