/**
 * The ledger applying reports: status moves and their events and notices, duplicates and stale
 * reports, reviews (mismatches, paid after close), and closes decided locally (onlyIfOpen).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import { paymentEvents, payments, refunds } from '../../../src/db/schema.js';
import { applyReport, insertNewOrder, insertRefundRequest, scheduleRefundSync, scheduleSync } from '../../../src/payments/ledger.js';
import { parseNotice, PAYMENT_CHANGE_CHANNEL, type PaymentChangeNotice } from '../../../src/events/notice.js';
import { PaymentError } from '../../../src/payments/errors.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';

describe('status moves and reviews', () => {
  const MID = '898201612345678';
  const TID = '88880001';
  let seq = 0;
  const orderId = () => `3194L${Date.now()}${++seq}`;

  describeEachDatabase('ledger', (kind) => {
    let h: TestDatabase;
    beforeAll(async () => {
      h = await kind.open();
    });
    afterAll(async () => {
      await h.close();
    });

    const newOrder = async (totalAmount = 100) => {
      const merOrderId = orderId();
      await insertNewOrder(h.db, { merOrderId, totalAmount, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
      return merOrderId;
    };
    const eventsOf = (merOrderId: string) =>
      h.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId)).orderBy(asc(paymentEvents.id));

    it('stores a new order as NEW_ORDER, version 1, with one event; a second insert is a conflict', async () => {
      const merOrderId = orderId();
      const { payment, event } = await insertNewOrder(h.db, { merOrderId, totalAmount: 250, mid: MID, tid: TID });
      expect(payment).toMatchObject({ status: 'NEW_ORDER', version: 1, totalAmount: 250, refundedAmount: 0, needsReview: false });
      expect(event).toMatchObject({ source: 'MUTATION', status: 'NEW_ORDER', previousStatus: null, version: 1 });
      await expect(insertNewOrder(h.db, { merOrderId, totalAmount: 250, mid: MID, tid: TID })).rejects.toBeInstanceOf(PaymentError);
    });

    it('moves forward, bumps the version, appends an event and notifies after commit', async () => {
      const merOrderId = await newOrder();
      const notices: PaymentChangeNotice[] = [];
      const sub = await h.listen(PAYMENT_CHANGE_CHANNEL, (p) => notices.push(parseNotice(p) as PaymentChangeNotice));
      const payTime = new Date('2026-11-27T04:00:00Z');
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 100, mid: MID, payTime, targetOrderId: 'wx1' }, 'SYNC');
      expect(r.outcome).toBe('applied');
      expect(r.payment).toMatchObject({ status: 'TRADE_SUCCESS', version: 2, targetOrderId: 'wx1', payTime, nextSyncAt: null });
      expect(r.event).toMatchObject({ source: 'SYNC', previousStatus: 'NEW_ORDER', status: 'TRADE_SUCCESS', version: 2 });
      await expect.poll(() => notices.filter((n) => n.merOrderId === merOrderId)).toEqual([
        { merOrderId, version: 2, eventId: r.event?.id },
      ]);
      await sub.close();
    });

    it('answers duplicate and stale without changing anything', async () => {
      const merOrderId = await newOrder();
      await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS' }, 'NOTIFY');
      const dup = await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS' }, 'NOTIFY');
      const stale = await applyReport(h.db, { merOrderId, status: 'WAIT_BUYER_PAY' }, 'NOTIFY');
      expect([dup.outcome, stale.outcome]).toEqual(['duplicate', 'stale']);
      expect(stale.payment.version).toBe(2);
      expect((await eventsOf(merOrderId)).map((e) => e.status)).toEqual(['NEW_ORDER', 'TRADE_SUCCESS']);
    });

    it('flags a mismatch of amount, mid or tid and does not apply it', async () => {
      const merOrderId = await newOrder(100);
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 1, mid: MID }, 'NOTIFY');
      expect(r).toMatchObject({ outcome: 'review', reason: 'mismatch:totalAmount' });
      // The new flag is an event (version 2, status unchanged); a second flag is not new.
      expect(r.payment).toMatchObject({ status: 'NEW_ORDER', version: 2, needsReview: true, reviewReason: 'mismatch:totalAmount' });
      expect(r.event).toMatchObject({ kind: 'review', status: 'NEW_ORDER', previousStatus: 'NEW_ORDER', version: 2 });
      const r2 = await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', mid: 'other', tid: 'x' }, 'NOTIFY');
      expect(r2.reason).toBe('mismatch:mid,tid');
    });

    it('counts partial refunds once each, and a full refund closes', async () => {
      const merOrderId = await newOrder(100);
      await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS' }, 'NOTIFY');
      const refund = (refundOrderId: string, refundAmount: number) =>
        applyReport(h.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount } }, 'NOTIFY');
      expect((await refund(`${merOrderId}R1`, 30)).payment).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 30, version: 3 });
      expect((await refund(`${merOrderId}R1`, 30)).outcome).toBe('duplicate');
      expect((await refund(`${merOrderId}R2`, 20)).payment).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 50, version: 4 });
      const closed = await applyReport(h.db, { merOrderId, status: 'TRADE_CLOSED' }, 'NOTIFY');
      expect(closed.payment).toMatchObject({ status: 'TRADE_CLOSED', version: 5 });
      // The last refund's notice arrives after the close: counted, order stays closed.
      const late = await refund(`${merOrderId}R3`, 50);
      expect(late).toMatchObject({ outcome: 'applied', reason: 'refund-after-close' });
      expect(late.payment).toMatchObject({ status: 'TRADE_CLOSED', refundedAmount: 100 });
      const rows = await h.db.select().from(refunds).where(eq(refunds.merOrderId, merOrderId));
      expect(rows.map((r) => [r.refundOrderId.slice(-2), r.status]).sort()).toEqual([['R1', 'SUCCESS'], ['R2', 'SUCCESS'], ['R3', 'SUCCESS']]);
    });

    it('a refund request stays PROCESSING until a report says SUCCESS, then is counted once', async () => {
      const merOrderId = await newOrder(100);
      await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS' }, 'NOTIFY');
      const refundOrderId = `${merOrderId}R`;
      await insertRefundRequest(h.db, { refundOrderId, merOrderId, refundAmount: 40 });
      await expect(insertRefundRequest(h.db, { refundOrderId, merOrderId, refundAmount: 40 })).rejects.toBeInstanceOf(PaymentError);
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 40, status: 'SUCCESS' } }, 'MUTATION');
      expect(r.payment.refundedAmount).toBe(40);
      const again = await applyReport(h.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId, refundAmount: 40 } }, 'NOTIFY');
      expect(again.outcome).toBe('duplicate');
      expect(again.payment.refundedAmount).toBe(40);
    });

    it('flags a success after a local close for review, never applies or drops it', async () => {
      const merOrderId = await newOrder();
      await applyReport(h.db, { merOrderId, status: 'TRADE_CLOSED' }, 'MUTATION');
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 100 }, 'NOTIFY');
      expect(r).toMatchObject({ outcome: 'review', reason: 'paid-after-close' });
      expect(r.payment).toMatchObject({ status: 'TRADE_CLOSED', needsReview: true, reviewReason: 'paid-after-close' });
    });

    it('creates a payment, flagged, for an order it never created', async () => {
      const merOrderId = orderId();
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 999, mid: MID, tid: TID }, 'NOTIFY');
      expect(r.outcome).toBe('created');
      expect(r.payment).toMatchObject({ status: 'TRADE_SUCCESS', version: 1, totalAmount: 999, needsReview: true, reviewReason: 'unknown-order' });
      expect(r.event).toMatchObject({ previousStatus: null, status: 'TRADE_SUCCESS', source: 'NOTIFY' });
    });

    it('applies concurrent reports about one order one after the other', async () => {
      const merOrderId = await newOrder();
      const results = await Promise.all(
        Array.from({ length: 8 }, () => applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS' }, 'NOTIFY')),
      );
      expect(results.filter((r) => r.outcome === 'applied')).toHaveLength(1);
      const [row] = await h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
      expect(row?.version).toBe(2);
      expect(await eventsOf(merOrderId)).toHaveLength(2);
    });

    it('schedules syncs of payments and refunds without touching their state', async () => {
      const merOrderId = await newOrder();
      const at = new Date('2030-01-01T00:00:00Z');
      await scheduleSync(h.db, merOrderId, at, 3);
      const [row] = await h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
      expect(row).toMatchObject({ nextSyncAt: at, syncAttempts: 3, version: 1, status: 'NEW_ORDER' });
      const refundOrderId = `${merOrderId}R`;
      await insertRefundRequest(h.db, { refundOrderId, merOrderId, refundAmount: 10 });
      await scheduleRefundSync(h.db, refundOrderId, at);
      const [refund] = await h.db.select().from(refunds).where(eq(refunds.refundOrderId, refundOrderId));
      expect(refund).toMatchObject({ nextSyncAt: at, status: 'PROCESSING' });
    });
  });
});

describe('closes decided locally', () => {
  const MID = '898201612345678';
  const TID = '88880001';
  let seq = 0;
  const orderId = () => `3194O${Date.now()}${++seq}`;

  describeEachDatabase('ledger onlyIfOpen (a locally decided close)', (kind) => {
    let h: TestDatabase;
    beforeAll(async () => {
      h = await kind.open();
    });
    afterAll(async () => {
      await h.close();
    });

    const newOrder = async () => {
      const merOrderId = orderId();
      await insertNewOrder(h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID });
      return merOrderId;
    };
    const statuses = async (merOrderId: string) =>
      (await h.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId)).orderBy(asc(paymentEvents.id))).map(
        (e) => e.status,
      );

    it('does not close an order paid since the command read it; flags it for review', async () => {
      const merOrderId = await newOrder();
      await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 100 }, 'NOTIFY');
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_CLOSED' }, 'MUTATION', { onlyIfOpen: true });
      expect(r).toMatchObject({ outcome: 'stale', reason: 'not-open' });
      expect(r.event).toBeUndefined();
      // Flagging it is an event of its own (review, status unchanged): version 3.
      expect(r.payment).toMatchObject({
        status: 'TRADE_SUCCESS',
        version: 3,
        needsReview: true,
        reviewReason: 'close-attempt-on-paid-order',
      });
      expect(await statuses(merOrderId)).toEqual(['NEW_ORDER', 'TRADE_SUCCESS', 'TRADE_SUCCESS']);
    });

    it('does not close a refunded order either', async () => {
      const merOrderId = await newOrder();
      await applyReport(h.db, { merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId: `${merOrderId}R`, refundAmount: 40 } }, 'NOTIFY');
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_CLOSED' }, 'MUTATION', { onlyIfOpen: true });
      expect(r).toMatchObject({ outcome: 'stale', reason: 'not-open' });
      expect(r.payment).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 40, needsReview: true });
    });

    it('answers stale without a review flag when the order is already closed', async () => {
      const merOrderId = await newOrder();
      await applyReport(h.db, { merOrderId, status: 'TRADE_CLOSED' }, 'NOTIFY');
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_CLOSED' }, 'MUTATION', { onlyIfOpen: true });
      expect(r).toMatchObject({ outcome: 'stale', reason: 'not-open' });
      expect(r.payment).toMatchObject({ status: 'TRADE_CLOSED', needsReview: false, version: 2 });
    });

    it('closes an order that is still open', async () => {
      const merOrderId = await newOrder();
      await applyReport(h.db, { merOrderId, status: 'WAIT_BUYER_PAY' }, 'SYNC');
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_CLOSED' }, 'MUTATION', { onlyIfOpen: true });
      expect(r).toMatchObject({ outcome: 'applied', reason: 'forward' });
      expect(r.payment).toMatchObject({ status: 'TRADE_CLOSED', needsReview: false });
    });

    it('without the option a close still outranks a success (the status table is unchanged)', async () => {
      const merOrderId = await newOrder();
      await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS' }, 'NOTIFY');
      const r = await applyReport(h.db, { merOrderId, status: 'TRADE_CLOSED' }, 'NOTIFY');
      expect(r.outcome).toBe('applied');
    });
  });
});
