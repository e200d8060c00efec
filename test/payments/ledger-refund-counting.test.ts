/**
 * A refund is counted into refundedAmount exactly once, in the write that makes it SUCCESS,
 * whatever its row said before (FAIL, PROCESSING) and whatever status the report carries.
 */
import { expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { refunds } from '../../src/db/schema.js';
import { applyReport, insertNewOrder, insertRefundRequest } from '../../src/payments/ledger.js';
import { describeEachDatabase } from '../support/db.js';
import { ledgerHarness } from './ledger-harness.js';
import { MID, TID, newOrderId, notificationFields } from './notification-fixtures.js';

describeEachDatabase('ledger refund counting', (kind) => {
  const L = ledgerHarness(kind);
  const { paidOrder, paymentOf, refundOf, notify } = L;

  it('a refund recorded FAIL and then reported SUCCESS by three notices is counted once, becomes SUCCESS and is flagged', async () => {
    const merOrderId = await paidOrder(1000);
    const refundOrderId = newOrderId();
    await insertRefundRequest(L.db, { refundOrderId, merOrderId, refundAmount: 300 });
    await applyReport(L.db, { merOrderId, status: 'TRADE_SUCCESS', refund: { refundOrderId, refundAmount: 300, status: 'FAIL' } }, 'MUTATION');
    expect(await refundOf(refundOrderId)).toMatchObject({ status: 'FAIL', countedAt: null });

    const answers = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await notify(notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', refundOrderId, refundAmount: '300' })));
    }
    expect(answers.map((a) => a.body)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(answers[0]).toMatchObject({ outcome: 'applied' });

    expect(await paymentOf(merOrderId)).toMatchObject({
      status: 'TRADE_REFUND',
      refundedAmount: 300,
      needsReview: true,
      reviewReason: 'refund-succeeded-after-fail',
    });
    const refund = await refundOf(refundOrderId);
    expect(refund.status).toBe('SUCCESS');
    expect(refund.countedAt).toBeInstanceOf(Date);
  });

  it('a late FAIL or PROCESSING does not undo a counted SUCCESS, and a second SUCCESS counts nothing', async () => {
    const merOrderId = await paidOrder(1000);
    const refundOrderId = newOrderId();
    await applyReport(L.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 200 } }, 'NOTIFY');
    await applyReport(L.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 200, status: 'FAIL' } }, 'SYNC');
    await applyReport(L.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 200, status: 'PROCESSING' } }, 'SYNC');
    const again = await applyReport(L.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 200 } }, 'SYNC');
    expect(again.outcome).toBe('duplicate');
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 200, needsReview: false });
    expect(await refundOf(refundOrderId)).toMatchObject({ status: 'SUCCESS' });
  });
});

describeEachDatabase('ledger refund counting apart from the status decision', (kind) => {
  const L = ledgerHarness(kind);
  const { paymentOf, refundOf, notify } = L;

  it('counts a new refund carried by a TRADE_CLOSED notice on an order already closed after a refund; the order stays closed', async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(L.db, { merOrderId, totalAmount: 1000, mid: MID, tid: TID });
    await applyReport(L.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 1000 }, 'NOTIFY');
    const r1 = newOrderId();
    await notify(notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', refundOrderId: r1, refundAmount: '400' }));
    await applyReport(L.db, { merOrderId, status: 'TRADE_CLOSED', totalAmount: 1000 }, 'SYNC');
    const before = await paymentOf(merOrderId);

    const r2 = newOrderId();
    const notice = await notify(notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_CLOSED', refundOrderId: r2, refundAmount: '600' }));
    expect(notice).toMatchObject({ httpStatus: 200, outcome: 'applied', reason: 'refund-counted', version: before.version + 1 });
    // The refund command or refund-query then says SUCCESS too: nothing more is counted.
    const later = await applyReport(L.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId: r2, refundAmount: 600, status: 'SUCCESS' } }, 'MUTATION');
    expect(later.outcome).toBe('stale');

    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_CLOSED', refundedAmount: 1000, needsReview: false });
    expect(await refundOf(r2)).toMatchObject({ status: 'SUCCESS', refundAmount: 600 });
  });

  it('a stale TRADE_SUCCESS answer carrying a finished refund counts it; the status stays TRADE_REFUND', async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(L.db, { merOrderId, totalAmount: 1000, mid: MID, tid: TID });
    await applyReport(L.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId: `${merOrderId}a`, refundAmount: 100 } }, 'NOTIFY');
    // A query answer that is older than what we know (TRADE_SUCCESS) but knows of a second refund.
    const r = await applyReport(
      L.db,
      { merOrderId, status: 'TRADE_SUCCESS', refund: { refundOrderId: `${merOrderId}b`, refundAmount: 50, status: 'SUCCESS' } },
      'SYNC',
    );
    expect(r).toMatchObject({ outcome: 'applied', reason: 'refund-counted' });
    expect(r.payment).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 150 });
  });

  it('a refund carried by a duplicate close of an order never paid is not counted but flagged', async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(L.db, { merOrderId, totalAmount: 1000, mid: MID, tid: TID });
    await applyReport(L.db, { merOrderId, status: 'TRADE_CLOSED' }, 'SYNC');
    const r = await applyReport(L.db, { merOrderId, status: 'TRADE_CLOSED', refund: { refundOrderId: `${merOrderId}r`, refundAmount: 600 } }, 'NOTIFY');
    expect(r).toMatchObject({ outcome: 'review', reason: 'refund-on-unpaid-order' });
    expect(r.payment).toMatchObject({ status: 'TRADE_CLOSED', refundedAmount: 0, needsReview: true });
    expect(await L.db.select().from(refunds).where(eq(refunds.merOrderId, merOrderId))).toEqual([]);
  });

  it('never leaves a SUCCESS refund uncounted: every SUCCESS row is counted', async () => {
    const rows = await L.db.select().from(refunds).where(eq(refunds.status, 'SUCCESS'));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.countedAt === null)).toEqual([]);
  });
});
