/**
 * Refund ids are global: a notice about an order we never created that names a refund already
 * stored under another order is stored and flagged, never a 503 that UMS retries forever.
 */
import { expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { notifications } from '../../src/db/schema.js';
import { insertRefundRequest } from '../../src/payments/ledger.js';
import { describeEachDatabase } from '../support/db.js';
import { ledgerHarness } from './ledger-harness.js';
import { newOrderId, notificationFields } from './notification-fixtures.js';

describeEachDatabase('ledger: refund ids already used by another order', (kind) => {
  const L = ledgerHarness(kind);
  const { paidOrder, paymentOf, refundOf, notify } = L;

  it('an unknown order whose notice carries our refundOrderId of another order is stored, flagged, and the refund not counted', async () => {
    const other = await paidOrder();
    const refundOrderId = newOrderId();
    await insertRefundRequest(L.db, { refundOrderId, merOrderId: other, refundAmount: 100 });
    const unknown = newOrderId();
    const res = await notify(notificationFields(unknown, { status: 'TRADE_REFUND', refundOrderId, refundAmount: '100' }));
    expect(res).toMatchObject({ httpStatus: 200, body: 'SUCCESS', outcome: 'created', reason: 'mismatch:refundOrderId' });
    expect(await paymentOf(unknown)).toMatchObject({ needsReview: true, reviewReason: 'mismatch:refundOrderId', refundedAmount: 0 });
    expect(await refundOf(refundOrderId)).toMatchObject({ merOrderId: other, status: 'PROCESSING', countedAt: null });
    expect(await paymentOf(other)).toMatchObject({ refundedAmount: 0 });
    const [stored] = await L.db.select().from(notifications).where(eq(notifications.id, res.notificationId!));
    expect(stored).toMatchObject({ outcome: 'created', merOrderId: unknown });
  });

  it('an unknown order whose notice names a refundTargetOrderId already counted on another order is stored and flagged', async () => {
    const other = await paidOrder();
    const target = `T${Date.now()}`;
    await notify(notificationFields(other, { totalAmount: '1000', status: 'TRADE_REFUND', refundAmount: '100', refundTargetOrderId: target }));
    const unknown = newOrderId();
    const res = await notify(notificationFields(unknown, { status: 'TRADE_REFUND', refundAmount: '100', refundTargetOrderId: target }));
    expect(res).toMatchObject({ httpStatus: 200, outcome: 'created', reason: 'mismatch:refundOrderId' });
    expect(await paymentOf(unknown)).toMatchObject({ needsReview: true, refundedAmount: 0 });
    expect(await paymentOf(other)).toMatchObject({ refundedAmount: 100 });
  });
});
