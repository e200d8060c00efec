/** The simulator's own file (journal.ts): orders, refunds and their owners survive a restart. */
import { mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/sim/simulator.js';
import { createMiniOrder } from './support/fixture.js';
import { CREDS, call, orderId } from './support/raw.js';

describe('simulator state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ums-sim-journal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reloads orders with their history, dates and refunds; one line per order after compaction', async () => {
    const stateFile = join(dir, 'orders.jsonl');
    let sim = await startSimulator({ credentials: CREDS, stateFile, notifyBackoffMs: [0] });
    const { merOrderId } = await createMiniOrder(sim, undefined, { attachedData: 'cart-9' });
    sim.pay(merOrderId, { notify: false });
    const refundOrderId = orderId();
    const refund = await call(sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId, refundAmount: 50 });
    expect(refund.json.refundStatus).toBe('SUCCESS');
    const before = sim.order(merOrderId)!;
    await sim.close();
    // A torn last line (a crash mid-append) is skipped, not fatal.
    appendFileSync(stateFile, '{"merOrderId": "31');

    sim = await startSimulator({ credentials: CREDS, stateFile, notifyBackoffMs: [0] });
    try {
      expect(sim.order(merOrderId)).toEqual(before);
      expect(readFileSync(stateFile, 'utf8').trim().split('\n')).toHaveLength(1);
      const query = await call(sim.url, '/v1/netpay/query', { instMid: 'MINIDEFAULT', merOrderId });
      expect(query.json).toMatchObject({ errCode: 'SUCCESS', status: 'TRADE_REFUND', refundAmount: 50, attachedData: 'cart-9' });
      // The same refundOrderId still answers the earlier refund, and stays owned by its order.
      const again = await call(sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId, refundAmount: 50 });
      expect(again.json).toMatchObject({ errCode: 'SUCCESS', refundAmount: 50 });
      expect(sim.order(merOrderId)!.refundedAmount).toBe(50);
    } finally {
      await sim.close();
    }
  });
});
