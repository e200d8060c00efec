/**
 * Refunds in the ledger: counted exactly once, whatever the order of reports; ids (ours, UMS's,
 * none) and ids of another order; possible double counts; sums the column cannot hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { notifications, payments, refunds } from '../../../src/db/schema.js';
import { applyReport, insertNewOrder, insertRefundRequest } from '../../../src/payments/ledger.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';
import { ledgerHarness } from './harness.js';
import { MID, newOrderId, notificationFields, TID } from '../notification-fixtures.js';

describe('counting', () => {
  /**
   * A refund is counted into refundedAmount exactly once, in the write that makes it SUCCESS,
   * whatever its row said before (FAIL, PROCESSING) and whatever status the report carries.
   */
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
});

describe('ids of another order', () => {
  /**
   * Refund ids are global: a notice about an order we never created that names a refund already
   * stored under another order is stored and flagged, never a 503 that UMS retries forever.
   */
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
});

describe('possibly counted twice', () => {
  /**
   * One refund may reach us under our refundOrderId (from UMS's answer, without refundTargetOrderId)
   * and under a synthetic id (a notice without our id). Nothing ties the two, so the second is
   * counted but the payment is flagged: refunded money must not silently double.
   */
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
});

describe('notices without our id', () => {
  /**
   * TRADE_REFUND notices that do not carry our refundOrderId (a refund made in the UMS merchant
   * portal): counted once under UMS's refundTargetOrderId (else the notifyId), never twice when the
   * same refund is also known under our id, and flagged when nothing identifies it.
   */
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

    it('a notice that says its refund failed or is still processing, with nothing to identify it, counts nothing and flags nothing', async () => {
      const merOrderId = await paidOrder();
      for (const refundStatus of ['FAIL', 'PROCESSING']) {
        expect(await notify(refundNotice(merOrderId, { refundAmount: '300', refundStatus, notifyId: '' }))).toMatchObject({ httpStatus: 200 });
      }
      expect(await paymentOf(merOrderId)).toMatchObject({ refundedAmount: 0, needsReview: false });
      expect(await refundsOf(merOrderId)).toEqual([]);
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
});

describe('overflow', () => {
  /** refundedAmount is an int4 column: a sum it cannot hold is flagged for a person, never thrown (a 503 forever). */
  describeEachDatabase('ledger: refunded sums the column cannot hold', (kind) => {
    let h: TestDatabase;
    beforeAll(async () => {
      h = await kind.open();
    });
    afterAll(async () => {
      await h.close();
    });

    it('a refund whose count would overflow refundedAmount is flagged for review, not counted, and nothing throws', async () => {
      const merOrderId = newOrderId();
      const report = (id: string) =>
        ({ merOrderId, status: 'TRADE_REFUND', refund: { refundOrderId: `ums:${merOrderId}${id}`, refundAmount: 2_000_000_000 } }) as const;
      expect(await applyReport(h.db, report('X1'), 'SYNC')).toMatchObject({ outcome: 'created', payment: { refundedAmount: 2_000_000_000 } });
      const second = await applyReport(h.db, report('X2'), 'SYNC');
      expect(second).toMatchObject({ outcome: 'review', reason: 'refunded-amount-overflow' });
      const [payment] = await h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
      expect(payment).toMatchObject({ refundedAmount: 2_000_000_000, needsReview: true, reviewReason: 'refunded-amount-overflow' });
      const [refund] = await h.db.select().from(refunds).where(eq(refunds.refundOrderId, `ums:${merOrderId}X2`));
      expect(refund).toBeUndefined();
    });
  });
});

describe("a refund notice's own status and amount", () => {
  describeEachDatabase('refund notices read refundStatus and refundAmount', (kind) => {
    const L = ledgerHarness(kind);
    const { paidOrder, paymentOf, refundOf, notify } = L;

    it('refundStatus FAIL: nothing counted, the payment keeps its status, the refund row is FAIL', async () => {
      const merOrderId = await paidOrder(1000);
      const refundOrderId = newOrderId();
      await insertRefundRequest(L.db, { refundOrderId, merOrderId, refundAmount: 300 });
      const answer = await notify(
        notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', refundOrderId, refundAmount: '300', refundStatus: 'FAIL' }),
      );
      expect(answer).toMatchObject({ body: 'SUCCESS', outcome: 'duplicate' });
      // The refund's own change (PROCESSING → FAIL) is an event: the version grows, the status stays.
      expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0, needsReview: false, version: 3 });
      expect(await refundOf(refundOrderId)).toMatchObject({ status: 'FAIL', countedAt: null, nextSyncAt: null });
    });

    it('refundStatus PROCESSING: nothing counted until a SUCCESS notice, which counts it once', async () => {
      const merOrderId = await paidOrder(1000);
      const refundOrderId = newOrderId();
      await insertRefundRequest(L.db, { refundOrderId, merOrderId, refundAmount: 300 });
      const fields = { totalAmount: '1000', status: 'TRADE_REFUND', refundOrderId, refundAmount: '300' };
      const processing = await notify(notificationFields(merOrderId, { ...fields, refundStatus: 'processing' }));
      expect(processing).toMatchObject({ body: 'SUCCESS', outcome: 'duplicate' });
      expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0 });
      expect(await refundOf(refundOrderId)).toMatchObject({ status: 'PROCESSING', countedAt: null });

      // Without notifyId the dedupe key is made of the fields: the SUCCESS notice must not pass for a copy of the PROCESSING one.
      const success = await notify(notificationFields(merOrderId, { ...fields, refundStatus: 'SUCCESS', notifyId: '' }));
      const again = await notify(notificationFields(merOrderId, { ...fields, refundStatus: 'SUCCESS', notifyId: '' }));
      expect(success).toMatchObject({ body: 'SUCCESS', outcome: 'applied' });
      expect(again).toMatchObject({ body: 'SUCCESS', outcome: 'duplicate' });
      expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 300, needsReview: false });
      expect(await refundOf(refundOrderId)).toMatchObject({ status: 'SUCCESS' });
    });

    it('an amount that disagrees with our refund row is flagged for review and not taken; the row is unchanged', async () => {
      const merOrderId = await paidOrder(1000);
      const refundOrderId = newOrderId();
      await insertRefundRequest(L.db, { refundOrderId, merOrderId, refundAmount: 300 });
      const answer = await notify(
        notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', refundOrderId, refundAmount: '500', refundStatus: 'SUCCESS' }),
      );
      expect(answer).toMatchObject({ body: 'SUCCESS', outcome: 'review', reason: 'mismatch:refundAmount' });
      expect(await paymentOf(merOrderId)).toMatchObject({
        status: 'TRADE_SUCCESS',
        refundedAmount: 0,
        needsReview: true,
        reviewReason: 'mismatch:refundAmount',
      });
      expect(await refundOf(refundOrderId)).toMatchObject({ status: 'PROCESSING', refundAmount: 300, countedAt: null });
    });

    it('a notice without refundStatus still announces a refund that went through (counted once)', async () => {
      const merOrderId = await paidOrder(1000);
      const refundOrderId = newOrderId();
      await insertRefundRequest(L.db, { refundOrderId, merOrderId, refundAmount: 300 });
      await notify(notificationFields(merOrderId, { totalAmount: '1000', status: 'TRADE_REFUND', refundOrderId, refundAmount: '300' }));
      expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 300, needsReview: false });
      expect(await refundOf(refundOrderId)).toMatchObject({ status: 'SUCCESS' });
    });
  });
});
