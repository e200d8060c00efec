/**
 * TRADE_REFUND notices that do not carry our refundOrderId (a refund made in the UMS merchant
 * portal): counted once under UMS's refundTargetOrderId (else the notifyId), never twice when the
 * same refund is also known under our id, and flagged when nothing identifies it.
 */
import { expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { notifications, refunds } from '../../src/db/schema.js';
import { applyReport, insertRefundRequest } from '../../src/payments/ledger.js';
import { describeEachDatabase } from '../support/db.js';
import { ledgerHarness } from './ledger-harness.js';
import { newOrderId, notificationFields } from './notification-fixtures.js';

describeEachDatabase('refund notices without our refundOrderId', (kind) => {
  const L = ledgerHarness(kind);
  const { paidOrder, paymentOf, notify } = L;

  const refundsOf = (merOrderId: string) => L.db.select().from(refunds).where(eq(refunds.merOrderId, merOrderId));
  const refundNotice = (merOrderId: string, extra: Record<string, string>) =>
    notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', ...extra });

  it('counts two portal refunds, each once, keyed on refundTargetOrderId; a redelivery counts nothing', async () => {
    const merOrderId = await paidOrder();
    const first = refundNotice(merOrderId, { refundAmount: '300', refundTargetOrderId: '50000001' });
    expect(await notify(first)).toMatchObject({ httpStatus: 200, outcome: 'applied' });
    expect(await notify({ ...first, notifyId: 'another-notify-id-same-refund' })).toMatchObject({ httpStatus: 200, outcome: 'duplicate' });
    expect(await notify(first)).toMatchObject({ httpStatus: 200, outcome: 'duplicate' });
    expect(await notify(refundNotice(merOrderId, { refundAmount: '200', refundTargetOrderId: '50000002' }))).toMatchObject({ outcome: 'applied' });

    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 500, needsReview: false });
    const rows = await refundsOf(merOrderId);
    expect(rows.map((r) => [r.refundOrderId, r.refundAmount, r.status]).sort()).toEqual([
      ['ums:50000001', 300, 'SUCCESS'],
      ['ums:50000002', 200, 'SUCCESS'],
    ]);
  });

  it('without refundTargetOrderId keys the refund on the notifyId; two refunds of one amount are both counted', async () => {
    const merOrderId = await paidOrder();
    const a = refundNotice(merOrderId, { refundAmount: '100' });
    const b = refundNotice(merOrderId, { refundAmount: '100' });
    expect((await notify(a)).outcome).toBe('applied');
    expect((await notify(b)).outcome).toBe('applied');
    expect((await notify(a)).outcome).toBe('duplicate');
    expect((await paymentOf(merOrderId)).refundedAmount).toBe(200);
    expect((await refundsOf(merOrderId)).map((r) => r.refundOrderId).sort()).toEqual([`ums:notify:${a.notifyId}`, `ums:notify:${b.notifyId}`].sort());
  });

  it('a refund with no id at all is stored and flags the payment; two of them are both stored', async () => {
    const merOrderId = await paidOrder();
    const { notifyId: _a, ...noIdA } = refundNotice(merOrderId, { refundAmount: '300' });
    const { notifyId: _b, ...noIdB } = refundNotice(merOrderId, { refundAmount: '400' });
    const ra = await notify(noIdA);
    const rb = await notify(noIdB);
    expect([ra.httpStatus, ra.outcome, ra.reason]).toEqual([200, 'review', 'refund-without-id']);
    expect([rb.outcome, rb.reason]).toEqual(['review', 'refund-without-id']);
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 0, needsReview: true, reviewReason: 'refund-without-id' });
    const stored = await L.db.select().from(notifications).where(eq(notifications.merOrderId, merOrderId));
    expect(stored.filter((n) => n.reason === 'refund-without-id')).toHaveLength(2);
  });

  it('a notice naming only refundTargetOrderId for a refund we know under our id counts it once', async () => {
    const merOrderId = await paidOrder();
    const refundOrderId = newOrderId();
    await insertRefundRequest(L.db, { refundOrderId, merOrderId, refundAmount: 250 });
    // The refund command's answer gave us UMS's id for it.
    await applyReport(
      L.db,
      { merOrderId, status: 'TRADE_SUCCESS', refund: { refundOrderId, refundAmount: 250, status: 'PROCESSING', refundTargetOrderId: '60000001' } },
      'MUTATION',
    );
    expect((await notify(refundNotice(merOrderId, { refundAmount: '250', refundTargetOrderId: '60000001' }))).outcome).toBe('applied');
    await applyReport(L.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 250, refundTargetOrderId: '60000001' } }, 'SYNC');
    expect((await paymentOf(merOrderId)).refundedAmount).toBe(250);
    expect((await refundsOf(merOrderId)).map((r) => [r.refundOrderId, r.status])).toEqual([[refundOrderId, 'SUCCESS']]);
  });

  it('our refund reported after the same refund was counted under its UMS id is not counted again', async () => {
    const merOrderId = await paidOrder();
    const refundOrderId = newOrderId();
    await insertRefundRequest(L.db, { refundOrderId, merOrderId, refundAmount: 250 });
    expect((await notify(refundNotice(merOrderId, { refundAmount: '250', refundTargetOrderId: '60000002' }))).outcome).toBe('applied');
    const ours = await applyReport(
      L.db,
      { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 250, refundTargetOrderId: '60000002' } },
      'SYNC',
    );
    expect(ours.payment.refundedAmount).toBe(250);
    const rows = await refundsOf(merOrderId);
    expect(rows.every((r) => r.status === 'SUCCESS' && r.countedAt !== null)).toBe(true);
  });

  it('flags refunds that add up to more than the order', async () => {
    const merOrderId = await paidOrder(1000);
    await notify(refundNotice(merOrderId, { refundAmount: '800', refundTargetOrderId: '70000001' }));
    await notify(refundNotice(merOrderId, { refundAmount: '800', refundTargetOrderId: '70000002' }));
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 1600, needsReview: true, reviewReason: 'refunded-more-than-paid' });
  });
});
