/**
 * The notification hot path writes plain forward moves in one statement per batch
 * (src/payments/ledger/notification-batches.ts, forward-moves.ts).
 * What a user (or a subscriber) sees must be exactly what the ledger's own write produced: the
 * payment, its event with the body as a JSON object, the stored notification, and the NOTIFY.
 */
import { expect, it } from 'vitest';
import { asc, eq, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { notifications, paymentEvents, payments } from '../../src/db/schema.js';
import { receiveNotification } from '../../src/http/notify.js';
import { parseNotice, PAYMENT_CHANGE_CHANNEL, type PaymentChangeNotice } from '../../src/events/notice.js';
import { insertNewOrder } from '../../src/payments/ledger.js';
import { batchedDatabase } from '../payments/ledger/harness.js';
import { describeEachDatabase } from '../support/db.js';
import { FORM, MID, NOTIFY_KEY, TID, formBody, newOrderId, notificationFields, signed } from '../payments/notification-fixtures.js';

const silent = pino({ level: 'silent' });

describeEachDatabase('a forward move from a notification, written in one statement', (kind) => {
  const t = batchedDatabase(kind);

  it('stores the same payment, event, notification and NOTIFY as the ledger would', async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(t.h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI', nextSyncAt: new Date() });
    const notices: (PaymentChangeNotice | undefined)[] = [];
    const listening = await t.h.listen(PAYMENT_CHANGE_CHANNEL, (payload) => notices.push(parseNotice(payload)));
    try {
      const fields = signed(notificationFields(merOrderId));
      const result = await receiveNotification({ db: t.h.db, batcher: t.batcher, keys: [NOTIFY_KEY], log: silent }, { body: formBody(fields), contentType: FORM });
      expect(result).toMatchObject({ outcome: 'applied', reason: 'forward', httpStatus: 200, body: 'SUCCESS', version: 2 });

      const [payment] = await t.h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
      expect(payment).toMatchObject({ status: 'TRADE_SUCCESS', version: 2, payTime: new Date('2026-11-27T04:30:05Z'), refundedAmount: 0, needsReview: false });
      // Paid: the scheduler need not ask any more.
      expect(payment?.nextSyncAt).toBeNull();

      const events = await t.h.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId)).orderBy(asc(paymentEvents.id));
      const event = events[1];
      expect(event).toMatchObject({ source: 'NOTIFY', previousStatus: 'NEW_ORDER', status: 'TRADE_SUCCESS', version: 2, reason: 'forward', notificationId: null });
      expect(event?.at).toEqual(payment?.updatedAt);
      const { sign: _sign, ...unsigned } = fields;
      expect(event?.payload).toEqual(unsigned);
      const [kindOf] = await t.h.db
        .select({ type: sql<string>`jsonb_typeof(${paymentEvents.payload})` })
        .from(paymentEvents)
        .where(eq(paymentEvents.id, event?.id ?? -1));
      expect(kindOf?.type).toBe('object');

      const stored = await t.h.db.select().from(notifications).where(eq(notifications.merOrderId, merOrderId));
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ id: result.notificationId, verified: true, keyIndex: 0, outcome: 'applied', reason: 'forward', paymentEventId: event?.id });

      await expect.poll(() => notices.filter((n) => n?.merOrderId === merOrderId)).toEqual([{ merOrderId, version: 2, eventId: event?.id }]);

      // The same notification again: a duplicate, nothing written but the copy.
      const again = await receiveNotification({ db: t.h.db, batcher: t.batcher, keys: [NOTIFY_KEY], log: silent }, { body: formBody(fields), contentType: FORM });
      expect(again).toMatchObject({ outcome: 'duplicate', httpStatus: 200 });
      expect(await t.h.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId))).toHaveLength(2);
    } finally {
      await listening.close();
    }
  });

  it('keeps buyer identifiers out of the event, on the batched path and on the ledger path alike', async () => {
    const buyer = { buyerId: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', subBuyerId: 'oSub1234567890', bankCardNo: '6222020000001234', buyerUsername: 'zhang' };
    const batched = newOrderId();
    await insertNewOrder(t.h.db, { merOrderId: batched, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
    const unknown = newOrderId(); // no such order: created from the notification by the ledger's own path
    for (const merOrderId of [batched, unknown]) {
      const body = formBody(signed(notificationFields(merOrderId, buyer)));
      const result = await receiveNotification({ db: t.h.db, batcher: t.batcher, keys: [NOTIFY_KEY], log: silent }, { body, contentType: FORM });
      expect(result.httpStatus).toBe(200);
      const events = await t.h.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId));
      const payload = JSON.stringify(events.map((e) => e.payload));
      for (const value of Object.values(buyer)) expect(payload).not.toContain(value);
      expect(payload).toContain('***eS6o');
    }
  });
});
