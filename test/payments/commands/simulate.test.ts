/**
 * simulatePayment waits for the simulator's notification by listening to the event bus: it
 * answers with the stored change (source NOTIFY) without re-reading the payment on a timer, and
 * asks UMS itself (source SYNC) only when no notification comes in time.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO } from '../../../src/config.js';
import type { Database } from '../../../src/db/database.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { describeEachDatabase } from '../../support/db.js';
import { WECHAT, countingDb, silent, startSlice, type Slice } from '../sync/harness.js';

describeEachDatabase('simulatePayment', (kind) => {
  let s: Slice;
  beforeAll(async () => {
    // The simulator's first notification attempt comes 400 ms after the buyer pays.
    s = await startSlice(await kind.open(), { notifyBackoffMs: [400, 100, 200] });
  });
  afterAll(async () => {
    await s?.close();
    await s?.database.close();
  });

  const serviceOver = (db: Database, options: { bus: boolean; simulateWaitMs?: number }) =>
    new PaymentService({
      db,
      ums: s.ops,
      client: s.client,
      sourceId: DEMO.sourceId,
      syncAfterMs: 60_000,
      log: silent,
      simulator: s.sim,
      ...(options.bus ? { bus: s.bus } : {}),
      simulateWaitMs: options.simulateWaitMs ?? 10_000,
    });

  it('answers once the notification is stored, heard on the bus, without polling the payment', async () => {
    const counted = countingDb(s.database.db);
    const service = serviceOver(counted.db, { bus: true });
    const { payment } = await service.create({ ...WECHAT, totalAmount: 321 }, {});
    const selectsBefore = counted.calls('select');
    const paid = await service.simulatePayment!(payment.merOrderId, 'TRADE_SUCCESS');
    expect(paid).toMatchObject({ merOrderId: payment.merOrderId, status: 'TRADE_SUCCESS' });
    expect((await s.events(payment.merOrderId)).at(-1)).toMatchObject({ source: 'NOTIFY', status: 'TRADE_SUCCESS' });
    // One read of the payment before the simulator acts; a 25 ms poll would read it ~16 times.
    expect(counted.calls('select') - selectsBefore).toBeLessThanOrEqual(2);
  });

  it('asks UMS itself (source SYNC) when no notification comes in time, or without a bus', async () => {
    for (const options of [{ bus: true, simulateWaitMs: 50 }, { bus: false }]) {
      const service = serviceOver(s.database.db, options);
      const { payment } = await service.create({ ...WECHAT, totalAmount: 322 }, {});
      const paid = await service.simulatePayment!(payment.merOrderId, 'TRADE_SUCCESS');
      expect(paid.status).toBe('TRADE_SUCCESS');
      expect((await s.events(payment.merOrderId)).find((e) => e.status === 'TRADE_SUCCESS')).toMatchObject({ source: 'SYNC' });
    }
  });
});
