/**
 * A refund that first answers PROCESSING ends SUCCESS (or FAIL) through refund-query,
 * against the real simulator (its `refund-processing` scenario) over HTTP, the real client, the
 * payment commands, the sync scheduler and a real database. The gateway's notify endpoint is
 * wired too, so the simulator's TRADE_REFUND notification also arrives: the money must still be
 * counted exactly once.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startSyncScheduler, type SyncScheduler } from '../../../src/payments/sync/scheduler.js';
import { describeEachDatabase } from '../../support/db.js';
import { WECHAT, once, silent, startSlice, type Slice } from './harness.js';

const AFTER_MS = 200;
const MINUTE = 60_000;

describeEachDatabase('a refund that first answers PROCESSING (simulator)', (kind) => {
  let s: Slice;
  let scheduler: SyncScheduler | undefined;
  /** How far the scheduler's clock runs ahead: rounds "later" without waiting for the gaps. */
  let aheadMs = 0;
  /** How far the simulator's clock runs ahead: UMS "later", without a wall-clock race. */
  let simAheadMs = 0;

  beforeAll(async () => {
    s = await startSlice(await kind.open(), { syncAfterMs: AFTER_MS, simulatorNow: () => new Date(Date.now() + simAheadMs) });
  });
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    aheadMs = 0;
    simAheadMs = 0;
  });
  afterAll(async () => {
    await s?.close();
    await s?.database.close();
  });

  const start = () =>
    (scheduler = startSyncScheduler({
      db: s.database.db,
      commands: s.service,
      config: { afterMs: AFTER_MS, intervalMs: 50, autoStart: false },
      log: silent,
      now: () => new Date(Date.now() + aheadMs),
    }));

  /** A paid order of `totalAmount` fen, its TRADE_SUCCESS notification stored. */
  async function paid(totalAmount: number): Promise<string> {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount }, {});
    expect((await s.service.simulatePayment!(payment.merOrderId, 'TRADE_SUCCESS')).status).toBe('TRADE_SUCCESS');
    return payment.merOrderId;
  }

  const refundDeliveries = (merOrderId: string) => s.sim.deliveries.filter((d) => d.merOrderId === merOrderId && d.status === 'TRADE_REFUND');

  it('stays pending (not failed) while refund-query says PROCESSING, then ends SUCCESS; a late TRADE_REFUND notification counts nothing twice', async () => {
    const merOrderId = await paid(1000);
    // Settles a minute after the refund by the simulator's clock: the first round below runs long
    // before that however slow the machine is (a 1 s window failed under load), and the test moves
    // the simulator's clock past it instead of waiting.
    s.sim.scenario({ kind: 'refund-processing', merOrderId, settleAfterMs: MINUTE });
    // Hold the simulator's own TRADE_REFUND notification: refund-query must be what settles it.
    s.sim.scenario({ kind: 'delay', delayMs: 10 * MINUTE, merOrderId });

    const refund = await s.service.refund({ merOrderId, refundAmount: 300 }, once());
    expect(refund).toMatchObject({ status: 'PROCESSING', refundAmount: 300 });
    expect(refund.nextSyncAt).toBeInstanceOf(Date);
    expect(await s.payment(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0 });
    // The pending 300 fen are spoken for: 701 more is too much, at the gateway already.
    await expect(s.service.refund({ merOrderId, refundAmount: 701 }, once())).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });

    // First round (past PAYMENT_SYNC_AFTER_MS): UMS still says PROCESSING; the refund stays pending.
    const sched = start();
    aheadMs = AFTER_MS + 50; // just past the first sync time, well before the simulator settles
    const first = await sched.runOnce();
    expect(first.refunds).toContain(refund.refundOrderId);
    expect(first.refundsSettled.map((r) => r.refundOrderId)).not.toContain(refund.refundOrderId);
    expect(first.errors).toEqual([]);
    expect(await s.refund(refund.refundOrderId)).toMatchObject({ status: 'PROCESSING' });
    expect((await s.refund(refund.refundOrderId)).nextSyncAt).toBeInstanceOf(Date);
    expect(await s.payment(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0 });

    // UMS finishes the refund: its time comes (the simulator settles it when refund-query looks).
    expect(s.sim.order(merOrderId)?.refunds[0]?.refundStatus).toBe('PROCESSING');
    simAheadMs = MINUTE + 1_000;

    // A round at the next gap: refund-query now says SUCCESS.
    aheadMs = 2 * MINUTE;
    const second = await sched.runOnce();
    expect(second.refundsSettled).toContainEqual({ refundOrderId: refund.refundOrderId, status: 'SUCCESS' });
    expect(await s.refund(refund.refundOrderId)).toMatchObject({ status: 'SUCCESS', nextSyncAt: null });
    expect(await s.payment(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 300 });
    expect((await s.events(merOrderId)).at(-1)).toMatchObject({ source: 'SYNC', status: 'TRADE_REFUND' });

    // The TRADE_REFUND notification arrives after all (re-sent now; the held one never comes).
    const resent = await fetch(`${s.sim.url}/_sim/orders/${merOrderId}/notify`, { method: 'POST', body: '{}' });
    expect(resent.status).toBe(200);
    const delivery = await s.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.status === 'TRADE_REFUND' && d.state !== 'pending');
    expect(delivery.state).toBe('delivered');
    expect(delivery.fields).toMatchObject({ refundOrderId: refund.refundOrderId, refundStatus: 'SUCCESS' });
    expect(await s.payment(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 300 });
    expect(await s.refund(refund.refundOrderId)).toMatchObject({ status: 'SUCCESS', refundAmount: 300 });

    // Nothing left to ask about.
    aheadMs = 10 * MINUTE;
    expect((await sched.runOnce()).refunds).not.toContain(refund.refundOrderId);
    expect(s.sim.order(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 300 });
  });

  it('settled by the first refund-query while the TRADE_REFUND notification races in: counted once', async () => {
    const merOrderId = await paid(800);
    // settleAfterMs 0: the scheduler's refund-query settles it, and the simulator notifies at once.
    s.sim.scenario({ kind: 'refund-processing', merOrderId });
    const refund = await s.service.refund({ merOrderId, refundAmount: 800 }, once());
    expect(refund.status).toBe('PROCESSING');
    expect(refundDeliveries(merOrderId)).toHaveLength(0);

    aheadMs = AFTER_MS + 50;
    const round = await start().runOnce();
    expect(round.refundsSettled).toContainEqual({ refundOrderId: refund.refundOrderId, status: 'SUCCESS' });
    const delivery = await s.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.status === 'TRADE_REFUND' && d.state !== 'pending');
    expect(delivery.state).toBe('delivered');

    expect(await s.refund(refund.refundOrderId)).toMatchObject({ status: 'SUCCESS', nextSyncAt: null });
    expect(await s.payment(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 800 });
    expect(refundDeliveries(merOrderId)).toHaveLength(1);
  });

  it('a refund that ends FAIL refunds nothing: the refund is FAIL, refundedAmount unchanged, the amount refundable again', async () => {
    const merOrderId = await paid(600);
    s.sim.scenario({ kind: 'refund-processing', merOrderId, outcome: 'FAIL' });
    const refund = await s.service.refund({ merOrderId, refundAmount: 600 }, once());
    expect(refund.status).toBe('PROCESSING');

    aheadMs = AFTER_MS + 50;
    const sched = start();
    const round = await sched.runOnce();
    expect(round.refundsSettled).toContainEqual({ refundOrderId: refund.refundOrderId, status: 'FAIL' });
    expect(await s.refund(refund.refundOrderId)).toMatchObject({ status: 'FAIL', nextSyncAt: null });
    expect(await s.payment(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0 });
    expect(s.sim.order(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0 });
    expect(refundDeliveries(merOrderId)).toHaveLength(0);

    // Not asked about again, and the 600 fen it did not refund can be refunded now.
    aheadMs = 10 * MINUTE;
    expect((await sched.runOnce()).refunds).not.toContain(refund.refundOrderId);
    const again = await s.service.refund({ merOrderId, refundAmount: 600 }, once());
    expect(again.status).toBe('SUCCESS');
    expect(await s.payment(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 600 });
  });
});
