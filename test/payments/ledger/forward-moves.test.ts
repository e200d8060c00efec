/**
 * The batched write of plain forward moves stores exactly what the single-report path stores.
 */
import { describe, expect, it } from 'vitest';
import { desc, eq, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { notifications, paymentEvents, payments } from '../../../src/db/schema.js';
import { receiveNotification } from '../../../src/http/notify.js';
import { applyReport, flagPaymentForReview, insertNewOrder, type StatusReport } from '../../../src/payments/ledger.js';
import { batchedDatabase } from './harness.js';
import { describeEachDatabase } from '../../support/db.js';
import { FORM, formBody, MID, newOrderId, notificationFields, NOTIFY_KEY, signed, TID } from '../notification-fixtures.js';

describe('equivalence with the single-report path', () => {
  /**
   * A plain forward move written by a notification batch (ledger.ts planForwardMove +
   * forward-moves.ts) must store exactly what the ledger's own path (applyReport) stores for the
   * same report on the same row: payment columns, event, next sync. Two identical payments, one
   * report each way, compared column by column.
   */
  const silent = pino({ level: 'silent' });

  describeEachDatabase('a batched forward move stores what the ledger would', (kind) => {
    const t = batchedDatabase(kind);

    /** Dates set "now" by either path differ by milliseconds: compare them as recent or not. */
    const comparable = (row: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(row)
          // txId: each path writes in a transaction of its own, so their ids differ by design.
          .filter(([name]) => !['merOrderId', 'id', 'txId'].includes(name))
          .map(([name, v]) => [name, v instanceof Date ? (Math.abs(v.getTime() - Date.now()) < 60_000 ? 'recent' : v.toISOString()) : v]),
      );

    async function stateOf(merOrderId: string) {
      const [payment] = await t.h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
      const [event] = await t.h.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId)).orderBy(desc(paymentEvents.id)).limit(1);
      return { payment: comparable(payment as Record<string, unknown>), event: comparable(event as Record<string, unknown>) };
    }

    /**
     * Sets up two identical payments with `prepare`, then sends `fields` as a notification to one
     * (together with a filler, so that it goes through a batch) and as a report to the ledger for
     * the other; answers both resulting states.
     */
    async function bothWays(prepare: (merOrderId: string) => Promise<void>, overrides: Record<string, string>) {
      const [viaBatch, viaLedger, filler] = [newOrderId(), newOrderId(), newOrderId()];
      for (const merOrderId of [viaBatch, viaLedger, filler]) {
        await insertNewOrder(t.h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI', nextSyncAt: new Date('2030-01-01T00:00:00Z') });
      }
      await prepare(viaBatch);
      await prepare(viaLedger);

      const fields = signed(notificationFields(viaBatch, overrides));
      const [result] = await Promise.all(
        [fields, signed(notificationFields(filler))].map((f) => receiveNotification({ db: t.h.db, batcher: t.batcher, keys: [NOTIFY_KEY], log: silent }, { body: formBody(f), contentType: FORM })),
      );
      expect(result).toMatchObject({ outcome: 'applied', httpStatus: 200 });
      // It went through a batch: its notification shares a transaction with the filler's.
      const stored = await t.h.db
        .select({ tx: sql<string>`${notifications}.xmin::text` })
        .from(notifications)
        .where(sql`${notifications.merOrderId} in (${viaBatch}, ${filler})`);
      expect(new Set(stored.map((s) => s.tx)).size).toBe(1);

      // The event keeps the signed fields without `sign`; the same payload both ways, so events compare.
      const { sign: _sign, ...payload } = fields;
      const report: StatusReport = {
        merOrderId: viaLedger,
        status: fields.status as StatusReport['status'],
        totalAmount: 100,
        mid: MID,
        tid: TID,
        instMid: fields.instMid,
        targetOrderId: fields.targetOrderId,
        targetSys: fields.targetSys,
        seqId: fields.seqId,
        ...(fields.payTime ? { payTime: new Date(`${fields.payTime.replace(' ', 'T')}+08:00`) } : {}),
        settleDate: fields.settleDate,
        buyerPayAmount: 100,
        receiptAmount: 100,
      };
      await applyReport(t.h.db, report, 'NOTIFY', { payload });
      return { batch: await stateOf(viaBatch), ledger: await stateOf(viaLedger) };
    }

    it('NEW_ORDER → TRADE_SUCCESS on a payment flagged for review (the flag stays)', async () => {
      const { batch, ledger } = await bothWays((id) => flagPaymentForReview(t.h.db, id, 'operator-note'), {});
      expect(batch).toEqual(ledger);
      expect(batch.payment).toMatchObject({ status: 'TRADE_SUCCESS', needsReview: true, reviewReason: 'operator-note', nextSyncAt: null });
    });

    it('NEW_ORDER → WAIT_BUYER_PAY (still open: the planned sync is kept)', async () => {
      const { batch, ledger } = await bothWays(async () => {}, { status: 'WAIT_BUYER_PAY', payTime: '' });
      expect(batch).toEqual(ledger);
      expect(batch.payment).toMatchObject({ status: 'WAIT_BUYER_PAY', nextSyncAt: '2030-01-01T00:00:00.000Z' });
    });

    it('NEW_ORDER → TRADE_REFUND with no refund named (the success notice was lost: ask UMS now)', async () => {
      const { batch, ledger } = await bothWays(async () => {}, { status: 'TRADE_REFUND' });
      expect(batch).toEqual(ledger);
      expect(batch.payment).toMatchObject({ status: 'TRADE_REFUND', nextSyncAt: 'recent' });
      expect(batch.event).toMatchObject({ reason: 'refund-without-success', previousStatus: 'NEW_ORDER' });
    });
  });
});
