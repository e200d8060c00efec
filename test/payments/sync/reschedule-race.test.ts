/**
 * The scheduler decides "no more questions" from the answer it stored, outside any lock. A notice
 * stored after that answer may flag the order and ask for a query now (next_sync_at = now); the
 * scheduler's clean-up must not erase that.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyReport, scheduleSync } from '../../../src/payments/ledger.js';
import { startSyncScheduler, type SyncCommands } from '../../../src/payments/sync/scheduler.js';
import { describeEachDatabase } from '../../support/db.js';
import { WECHAT, silent, startSlice, type Slice } from './harness.js';

const AFTER_MS = 100;
/** A scheduler clock past the quiet period: what sleeping AFTER_MS would give. */
const later = () => new Date(Date.now() + AFTER_MS + 20);

describeEachDatabase('scheduler clean-up after a round', (kind) => {
  let s: Slice;
  beforeAll(async () => {
    s = await startSlice(await kind.open(), { syncAfterMs: AFTER_MS });
  });
  afterAll(async () => {
    await s?.close();
    await s?.database.close();
  });

  it('keeps a "query now" set by a review flag stored after the round read its answer', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 640 }, {});
    s.sim.pay(payment.merOrderId, { notify: false });
    expect((await s.service.sync(payment.merOrderId)).status).toBe('TRADE_SUCCESS');
    // Something asked for one more look at the paid order (as a refund notice without success would).
    await scheduleSync(s.database.db, payment.merOrderId, new Date(Date.now() - 1_000));

    // Right after the round's query is stored, a notice with a wrong amount arrives: flagged, ask now.
    const commands: SyncCommands = {
      syncPayment: async (row, source) => {
        const after = await s.service.syncPayment(row, source);
        await applyReport(s.database.db, { merOrderId: row.merOrderId, status: 'TRADE_SUCCESS', totalAmount: 1 }, 'NOTIFY');
        return after;
      },
      closePayment: (row, source) => s.service.closePayment(row, source),
      settleRefund: (refund, source) => s.service.settleRefund(refund, source),
    };
    const scheduler = startSyncScheduler({ db: s.database.db, commands, config: { afterMs: AFTER_MS, intervalMs: 50, autoStart: false }, log: silent, now: later });
    try {
      expect((await scheduler.runOnce()).payments).toContain(payment.merOrderId);
    } finally {
      await scheduler.stop();
    }
    const row = await s.payment(payment.merOrderId);
    expect(row).toMatchObject({ status: 'TRADE_SUCCESS', needsReview: true, reviewReason: 'mismatch:totalAmount' });
    expect(row.nextSyncAt).not.toBeNull();
    expect(row.nextSyncAt!.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('still stops asking about a settled order when nothing else happened', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 650 }, {});
    s.sim.pay(payment.merOrderId, { notify: false });
    expect((await s.service.sync(payment.merOrderId)).status).toBe('TRADE_SUCCESS');
    await scheduleSync(s.database.db, payment.merOrderId, new Date(Date.now() - 1_000));
    const scheduler = startSyncScheduler({ db: s.database.db, commands: s.service, config: { afterMs: AFTER_MS, intervalMs: 50, autoStart: false }, log: silent, now: later });
    try {
      expect((await scheduler.runOnce()).payments).toContain(payment.merOrderId);
    } finally {
      await scheduler.stop();
    }
    expect((await s.payment(payment.merOrderId)).nextSyncAt).toBeNull();
  });
});
