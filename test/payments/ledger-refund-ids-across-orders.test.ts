/**
 * Refund ids are global: a notice about an order we never created that names a refund already
 * stored under another order is stored and flagged, never a 503 that UMS retries forever.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { notifications, payments, refunds } from '../../src/db/schema.js';
import { applyReport, insertNewOrder, insertRefundRequest } from '../../src/payments/ledger.js';
import { applyNotification } from '../../src/payments/notifications.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { FORM, MID, NOTIFY_KEY, TID, formBody, newOrderId, notificationFields, signed } from './notification-fixtures.js';

const silent = pino({ level: 'silent' });

describeEachDatabase('ledger: refund ids already used by another order', (kind) => {
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
  const paymentOf = async (m: string) => (await h.db.select().from(payments).where(eq(payments.merOrderId, m)))[0];
  const refundOf = async (r: string) => (await h.db.select().from(refunds).where(eq(refunds.refundOrderId, r)))[0];
  const notify = (fields: Record<string, string>) =>
    applyNotification(h.db, { body: formBody(signed(fields)), contentType: FORM }, [NOTIFY_KEY], silent);

  it('an unknown order whose notice carries our refundOrderId of another order is stored, flagged, and the refund not counted', async () => {
    const other = await paidOrder();
    const refundOrderId = newOrderId();
    await insertRefundRequest(h.db, { refundOrderId, merOrderId: other, refundAmount: 100 });
    const unknown = newOrderId();
    const res = await notify(notificationFields(unknown, { status: 'TRADE_REFUND', refundOrderId, refundAmount: '100' }));
    expect(res).toMatchObject({ httpStatus: 200, body: 'SUCCESS', outcome: 'created', reason: 'mismatch:refundOrderId' });
    expect(await paymentOf(unknown)).toMatchObject({ needsReview: true, reviewReason: 'mismatch:refundOrderId', refundedAmount: 0 });
    expect(await refundOf(refundOrderId)).toMatchObject({ merOrderId: other, status: 'PROCESSING', countedAt: null });
    expect(await paymentOf(other)).toMatchObject({ refundedAmount: 0 });
    const [stored] = await h.db.select().from(notifications).where(eq(notifications.id, res.notificationId!));
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
