/**
 * The `refund-processing` scenario: a refund answered PROCESSING that refund-query later settles
 * SUCCESS (money back, TRADE_REFUND notified) or FAIL (nothing refunded).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMiniOrder, startFixture, type Fixture } from './support/fixture.js';
import { call, orderId, rawPost } from './support/raw.js';

let fx: Fixture;
beforeEach(async () => {
  fx = await startFixture();
});
afterEach(async () => fx.close());

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const refund = (merOrderId: string, refundAmount: number, refundOrderId: string) =>
  call(fx.sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundAmount, refundOrderId });
const refundQuery = (merOrderId: string, refundOrderId?: string) =>
  call(fx.sim.url, '/v1/netpay/refund-query', { instMid: 'MINIDEFAULT', merOrderId, ...(refundOrderId ? { refundOrderId } : {}) });
const query = (merOrderId: string) => call(fx.sim.url, '/v1/netpay/query', { instMid: 'MINIDEFAULT', merOrderId });
const postScenario = (body: unknown) => rawPost(`${fx.sim.url}/_sim/scenarios`, JSON.stringify(body));

/** A paid 1250-fen order whose TRADE_SUCCESS notification has been received. */
async function paidOrder(): Promise<string> {
  const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
  fx.sim.pay(merOrderId);
  await fx.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.state === 'delivered');
  return merOrderId;
}

const refundNotices = () => fx.receiver.received.filter((r) => r.fields.status === 'TRADE_REFUND');

describe('refund-processing scenario', () => {
  it('answers PROCESSING, holds the amount, and settles SUCCESS after settleAfterMs by itself (notifying TRADE_REFUND)', async () => {
    const merOrderId = await paidOrder();
    // Long enough for the checks below while it is still PROCESSING, on a loaded machine too; the
    // end is awaited as an event (the TRADE_REFUND delivery), never guessed.
    fx.sim.scenario({ kind: 'refund-processing', merOrderId, settleAfterMs: 1_500 });
    const refundOrderId = orderId();

    const answer = await refund(merOrderId, 500, refundOrderId);
    expect(answer.json).toMatchObject({ errCode: 'SUCCESS', refundStatus: 'PROCESSING', refundOrderId, refundAmount: 500, status: 'TRADE_SUCCESS' });
    expect(answer.json.refundPayTime).toBeUndefined();
    expect(fx.sim.order(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0 });
    expect(fx.sim.order(merOrderId)?.refunds).toEqual([expect.objectContaining({ refundOrderId, refundStatus: 'PROCESSING', outcome: 'SUCCESS' })]);

    // Still processing: refund-query says so, query shows nothing refunded, the same refund again is unchanged.
    expect((await refundQuery(merOrderId, refundOrderId)).json).toMatchObject({ errCode: 'SUCCESS', refundStatus: 'PROCESSING', status: 'TRADE_SUCCESS' });
    expect((await query(merOrderId)).json).toMatchObject({ status: 'TRADE_SUCCESS' });
    expect((await query(merOrderId)).json.refundAmount).toBeUndefined();
    expect((await refund(merOrderId, 500, refundOrderId)).json).toMatchObject({ refundStatus: 'PROCESSING' });
    // The pending 500 fen are not refundable a second time.
    expect((await refund(merOrderId, 751, orderId())).json.errCode).toBe('OPERATION_NOT_ALLOWED');
    expect(refundNotices()).toHaveLength(0);

    const delivery = await fx.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.status === 'TRADE_REFUND');
    expect(delivery.state).toBe('delivered');
    expect(refundNotices()).toHaveLength(1);
    expect(refundNotices()[0]!.fields).toMatchObject({ refundOrderId, refundAmount: '500', refundStatus: 'SUCCESS' });

    const settled = await refundQuery(merOrderId, refundOrderId);
    expect(settled.json).toMatchObject({ refundStatus: 'SUCCESS', status: 'TRADE_REFUND', refundAmount: 500 });
    expect(settled.json.refundPayTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect((await query(merOrderId)).json).toMatchObject({ status: 'TRADE_REFUND', refundAmount: 500 });
    expect(fx.sim.order(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 500 });
  });

  it('by default (settleAfterMs 0) settles on the first refund-query, over POST /_sim/scenarios; then it is used up', async () => {
    const merOrderId = await paidOrder();
    const queued = await postScenario({ kind: 'refund-processing' });
    expect(queued.status).toBe(201);
    expect(queued.json).toMatchObject({ scenario: { kind: 'refund-processing', settleAfterMs: 0, outcome: 'SUCCESS' } });
    const refundOrderId = orderId();

    expect((await refund(merOrderId, 250, refundOrderId)).json).toMatchObject({ refundStatus: 'PROCESSING' });
    // No timer: nothing happens until somebody asks (a negative check: waiting is all it can do).
    await pause(100);
    expect(refundNotices()).toHaveLength(0);
    expect(fx.sim.order(merOrderId)?.refundedAmount).toBe(0);

    // Asked by the refund's own id (as some integrations send it).
    expect((await refundQuery(refundOrderId)).json).toMatchObject({ refundStatus: 'SUCCESS', status: 'TRADE_REFUND', refundOrderId });
    await fx.receiver.waitFor(2);
    expect(refundNotices().map((r) => r.fields.refundOrderId)).toEqual([refundOrderId]);
    expect(fx.sim.order(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 250 });
    expect(await (await fetch(`${fx.sim.url}/_sim/scenarios`)).json()).toEqual({ scenarios: [] });

    // Used up: the next refund goes through at once.
    expect((await refund(merOrderId, 100, orderId())).json).toMatchObject({ refundStatus: 'SUCCESS', status: 'TRADE_REFUND' });
    expect(fx.sim.order(merOrderId)?.refundedAmount).toBe(350);
  });

  it('outcome FAIL: refund-query answers FAIL, nothing is refunded or notified, the amount is refundable again', async () => {
    const merOrderId = await paidOrder();
    fx.sim.scenario({ kind: 'refund-processing', merOrderId, outcome: 'FAIL', settleAfterMs: 50 });
    const refundOrderId = orderId();
    expect((await refund(merOrderId, 1250, refundOrderId)).json).toMatchObject({ refundStatus: 'PROCESSING' });
    // Past settleAfterMs: refund-query settles it if the timer has not yet (a lower bound only).
    await pause(120);

    const answer = await refundQuery(merOrderId);
    expect(answer.json).toMatchObject({ errCode: 'SUCCESS', refundStatus: 'FAIL', refundOrderId, status: 'TRADE_SUCCESS' });
    expect(answer.json.refundPayTime).toBeUndefined();
    expect(fx.sim.order(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0 });
    expect((await query(merOrderId)).json.refundAmount).toBeUndefined();
    // Every notification is a delivery from the moment it is decided: no refund notice will come.
    expect(fx.sim.deliveries.filter((d) => d.status === 'TRADE_REFUND')).toHaveLength(0);
    expect(refundNotices()).toHaveLength(0);

    // The failed refund held nothing back: the whole amount can be refunded with a new id.
    expect((await refund(merOrderId, 1250, orderId())).json).toMatchObject({ refundStatus: 'SUCCESS', status: 'TRADE_REFUND' });
    // The failed refundOrderId stays failed (UMS does not retry it).
    expect((await refund(merOrderId, 1250, refundOrderId)).json).toMatchObject({ refundStatus: 'FAIL' });
  });

  it('applies only to the named order, and refuses a bad scenario', async () => {
    const other = await paidOrder();
    const target = await paidOrder();
    fx.sim.scenario({ kind: 'refund-processing', merOrderId: target });
    expect((await refund(other, 100, orderId())).json).toMatchObject({ refundStatus: 'SUCCESS' });
    expect((await refund(target, 100, orderId())).json).toMatchObject({ refundStatus: 'PROCESSING' });

    const bad = await postScenario({ kind: 'refund-processing', outcome: 'MAYBE' });
    expect(bad.status).toBe(400);
    expect(String(bad.json.error)).toMatch(/outcome/);
    expect((await postScenario({ kind: 'refund-processing', settleAfterMs: -1 })).status).toBe(400);
  });

  it('a refund-processing scenario is not used up by a notification, nor by a refused refund', async () => {
    const merOrderId = await paidOrder();
    fx.sim.scenario({ kind: 'refund-processing', merOrderId });
    expect((await refund(merOrderId, 5000, orderId())).json.errCode).toBe('OPERATION_NOT_ALLOWED');
    expect((await rawPost(`${fx.sim.url}/_sim/orders/${merOrderId}/notify`, '{}')).status).toBe(200);
    await fx.receiver.waitFor(2);
    expect((await refund(merOrderId, 100, orderId())).json).toMatchObject({ refundStatus: 'PROCESSING' });
  });

  it('close() stops a pending settlement: no notification after the simulator is gone', async () => {
    const merOrderId = await paidOrder();
    fx.sim.scenario({ kind: 'refund-processing', merOrderId, settleAfterMs: 100 });
    expect((await refund(merOrderId, 100, orderId())).json).toMatchObject({ refundStatus: 'PROCESSING' });
    await fx.sim.close();
    await pause(200);
    expect(refundNotices()).toHaveLength(0);
  });
});
