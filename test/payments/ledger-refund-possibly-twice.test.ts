/**
 * One refund may reach us under our refundOrderId (from UMS's answer, without refundTargetOrderId)
 * and under a synthetic id (a notice without our id). Nothing ties the two, so the second is
 * counted but the payment is flagged: refunded money must not silently double.
 */
import { expect, it } from 'vitest';
import { applyReport, insertRefundRequest } from '../../src/payments/ledger.js';
import { describeEachDatabase } from '../support/db.js';
import { ledgerHarness } from './ledger-harness.js';
import { newOrderId, notificationFields } from './notification-fixtures.js';

describeEachDatabase('ledger: a refund possibly counted twice', (kind) => {
  const L = ledgerHarness(kind);
  const { paidOrder, paymentOf, notify } = L;

  const ourRefundCounted = async (merOrderId: string, refundAmount: number) => {
    const refundOrderId = newOrderId();
    await insertRefundRequest(L.db, { refundOrderId, merOrderId, refundAmount });
    await applyReport(L.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount } }, 'MUTATION');
    return refundOrderId;
  };

  it('our refund counted from an answer without refundTargetOrderId, then a notice without our id: counted and flagged', async () => {
    const merOrderId = await paidOrder();
    await ourRefundCounted(merOrderId, 250);
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 250, needsReview: false });
    const res = await notify(notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', refundAmount: '250', refundTargetOrderId: 'T9' }));
    expect(res).toMatchObject({ httpStatus: 200, body: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 500, needsReview: true, reviewReason: 'refund-possibly-counted-twice' });
  });

  it('a notice identified only by its notifyId is counted and flagged', async () => {
    const merOrderId = await paidOrder();
    const fields = notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', refundAmount: '300' });
    await notify(fields);
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 300, needsReview: true, reviewReason: 'refund-possibly-counted-twice' });
  });

  it('a portal refund counted first, then our refund answered without refundTargetOrderId: counted and flagged', async () => {
    const merOrderId = await paidOrder();
    await notify(notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', refundAmount: '200', refundTargetOrderId: 'P1' }));
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 200, needsReview: false });
    await ourRefundCounted(merOrderId, 100);
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 300, needsReview: true, reviewReason: 'refund-possibly-counted-twice' });
  });

  it('refunds tied by refundTargetOrderId, or with nothing to confuse them, are not flagged', async () => {
    const merOrderId = await paidOrder();
    await notify(notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', refundAmount: '200', refundTargetOrderId: 'P2' }));
    const refundOrderId = newOrderId();
    await insertRefundRequest(L.db, { refundOrderId, merOrderId, refundAmount: 100 });
    await applyReport(L.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 100, refundTargetOrderId: 'R2' } }, 'MUTATION');
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 300, needsReview: false });
  });
});
