/**
 * One refund may reach us under our refundOrderId (from UMS's answer, without refundTargetOrderId)
 * and under a synthetic id (a notice without our id). Nothing ties the two, so the second is
 * counted but the payment is flagged: refunded money must not silently double.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { payments } from '../../src/db/schema.js';
import { applyReport, insertNewOrder, insertRefundRequest } from '../../src/payments/ledger.js';
import { applyNotification } from '../../src/payments/notifications.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { FORM, MID, NOTIFY_KEY, TID, formBody, newOrderId, notificationFields, signed } from './notification-fixtures.js';

const silent = pino({ level: 'silent' });

describeEachDatabase('ledger: a refund possibly counted twice', (kind) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await kind.open();
  });
  afterAll(async () => {
    await h.close();
  });

  const paidOrder = async (totalAmount = 1000) => {
    const merOrderId = newOrderId();
    await insertNewOrder(h.db, { merOrderId, totalAmount, mid: MID, tid: TID });
    await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount }, 'NOTIFY');
    return merOrderId;
  };
  const paymentOf = async (m: string) => (await h.db.select().from(payments).where(eq(payments.merOrderId, m)))[0]!;
  const notify = (fields: Record<string, string>) =>
    applyNotification(h.db, { body: formBody(signed(fields)), contentType: FORM }, [NOTIFY_KEY], silent);
  const ourRefundCounted = async (merOrderId: string, refundAmount: number) => {
    const refundOrderId = newOrderId();
    await insertRefundRequest(h.db, { refundOrderId, merOrderId, refundAmount });
    await applyReport(h.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount } }, 'MUTATION');
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
    await insertRefundRequest(h.db, { refundOrderId, merOrderId, refundAmount: 100 });
    await applyReport(h.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 100, refundTargetOrderId: 'R2' } }, 'MUTATION');
    expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 300, needsReview: false });
  });
});
