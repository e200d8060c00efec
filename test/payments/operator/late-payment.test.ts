/**
 * LATE_PAYMENT_POLICY: a payment UMS reports after the gateway closed the order is flagged for
 * review by default, and refunded in full, once, with `refund`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../../src/app.js';
import { applyReport } from '../../../src/payments/ledger.js';
import { describeEachDatabase } from '../../support/db.js';
import { createPayment, payment, paymentUntil, sharedStore, simPay, startInstance, type SharedStore } from './support.js';

/** The buyer pays at UMS (notice lost) while the gateway closes the order; then UMS's notice arrives. */
async function paidAfterClose(gw: Gateway, amount: number): Promise<string> {
  const id = await createPayment(gw, amount);
  await simPay(gw.simulator!.url, id, { notify: false });
  // The gateway's own close on timeout, as the ledger records it.
  await applyReport(gw.database.db, { merOrderId: id, status: 'TRADE_CLOSED' }, 'SYNC', { onlyIfOpen: true });
  const res = await fetch(`${gw.simulator!.url}/_sim/orders/${id}/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(200);
  return id;
}

describeEachDatabase('LATE_PAYMENT_POLICY', (kind) => {
  let store: SharedStore;
  let reviewGw: Gateway;
  let refundStore: SharedStore;
  let refundGw: Gateway;

  beforeAll(async () => {
    [store, refundStore] = await Promise.all([sharedStore(kind), sharedStore(kind)]);
    reviewGw = await startInstance(store);
    refundGw = await startInstance(refundStore, { LATE_PAYMENT_POLICY: 'refund' });
  }, 60_000);
  afterAll(async () => {
    await reviewGw?.close();
    await refundGw?.close();
    await store?.close();
    await refundStore?.close();
  });

  it('review (default): flagged paid-after-close, nothing refunded', async () => {
    const id = await paidAfterClose(reviewGw, 700);
    const flagged = await paymentUntil(reviewGw, id, 'the flag', (p) => p.needsReview);
    expect(flagged).toMatchObject({ status: 'TRADE_CLOSED', reviewReason: 'paid-after-close' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reviewGw.simulator!.order(id)!.refunds).toHaveLength(0);
  });

  it('refund: refunded in full once, the case closed by an OPERATOR event of system', async () => {
    const id = await paidAfterClose(refundGw, 900);
    const settled = await paymentUntil(refundGw, id, 'the automatic refund', (p) => p.refundedAmount === 900 && !p.needsReview);
    expect(settled.status).toBe('TRADE_REFUND');
    expect(refundGw.simulator!.order(id)!.refunds).toHaveLength(1);
    const operator = settled.events.filter((e) => e.source === 'OPERATOR');
    expect(operator.at(-1)!.reason).toMatch(/^REFUND: LATE_PAYMENT_POLICY=refund/);
    // Later rounds find nothing more to do.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(refundGw.simulator!.order(id)!.refunds).toHaveLength(1);
    expect((await payment(refundGw, id)).refundedAmount).toBe(900);
  });
});
