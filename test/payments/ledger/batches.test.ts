/**
 * Group commit of verified notifications (src/payments/ledger/notification-batches.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { eq, inArray, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { notifications, paymentEvents, payments } from '../../../src/db/schema.js';
import { receiveNotification, type NotifyAnswer } from '../../../src/http/notify.js';
import { dedupeKeyOf } from '../../../src/payments/notifications.js';
import { insertNewOrder, NotificationBatcher } from '../../../src/payments/ledger.js';
import { bodyHash } from '../../../src/payments/ledger/rows.js';
import { describeEachDatabase, describePostgres, postgresDatabase, type TestDatabase } from '../../support/db.js';
import { type Faults, installFaults } from '../../support/faults.js';
import { FORM, formBody, MID, newOrderId, notificationFields, NOTIFY_KEY, signed, TID } from '../notification-fixtures.js';

describe('group commit', () => {
  /**
   * Group commit of notifications (src/payments/notification-batches.ts): notifications that arrive
   * together are stored in one transaction, and whatever a batch cannot write plainly (an unknown
   * order, a second copy, a mismatch, a raced dedupe key, a failing write) ends exactly as it would
   * on its own. Rows written by one transaction share their `xmin`, which is how these tests see
   * that a batch really was one transaction.
   */
  const silent = pino({ level: 'silent' });

  describeEachDatabase('notifications stored in batches', (kind) => {
    let h: TestDatabase;
    let batcher: NotificationBatcher;
    let faults: Faults;
    beforeAll(async () => {
      h = await kind.open();
      // One batch in flight: everything posted at once is one batch (the default shares it over two).
      batcher = new NotificationBatcher(h.db, { maxBatchesInFlight: 1 });
      faults = await installFaults(h.db, [{ name: 'notification_of_3194_doomed', on: `before insert on notifications for each row when (new.mer_order_id like '%doomed')` }]);
    });
    afterAll(async () => {
      await h?.close();
    });

    async function newOrders(count: number, suffix = ''): Promise<string[]> {
      const ids = Array.from({ length: count }, () => `${newOrderId()}${suffix}`);
      for (const merOrderId of ids) await insertNewOrder(h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
      return ids;
    }

    /** Posts every body at once, as concurrent HTTP requests would reach receiveNotification. */
    function postAll(bodies: string[]): Promise<NotifyAnswer[]> {
      return Promise.all(bodies.map((body) => receiveNotification({ db: h.db, batcher: batcher, keys: [NOTIFY_KEY], log: silent }, { body, contentType: FORM })));
    }

    const paidBody = (merOrderId: string, overrides: Record<string, string> = {}) => formBody(signed(notificationFields(merOrderId, overrides)));

    async function eventsOf(ids: string[]) {
      return h.db
        .select({ merOrderId: paymentEvents.merOrderId, reason: paymentEvents.reason, version: paymentEvents.version, tx: sql<string>`${paymentEvents}.xmin::text` })
        .from(paymentEvents)
        .where(inArray(paymentEvents.merOrderId, ids));
    }

    it('stores notifications that arrive together in one transaction, each answered with its own row', async () => {
      const ids = await newOrders(20);
      const results = await postAll(ids.map((id) => paidBody(id)));

      for (const [i, result] of results.entries()) {
        expect(result).toMatchObject({ outcome: 'applied', reason: 'forward', httpStatus: 200, body: 'SUCCESS', merOrderId: ids[i], version: 2 });
      }
      expect(new Set(results.map((r) => r.notificationId)).size).toBe(20);
      const rows = await h.db.select().from(payments).where(inArray(payments.merOrderId, ids));
      expect(rows.map((r) => [r.status, r.version])).toEqual(ids.map(() => ['TRADE_SUCCESS', 2]));
      const forward = (await eventsOf(ids)).filter((e) => e.reason === 'forward');
      expect(forward).toHaveLength(20);
      // One transaction wrote all twenty events: they share one xmin.
      expect(new Set(forward.map((e) => e.tx)).size).toBe(1);
      const stored = await h.db.select().from(notifications).where(inArray(notifications.merOrderId, ids));
      expect(stored.map((n) => n.outcome)).toEqual(ids.map(() => 'applied'));
      expect(stored.map((n) => n.id).sort()).toEqual(results.map((r) => r.notificationId).sort());
    });

    it('with two batches in flight, shares what is queued between them; each notification is stored once', async () => {
      const shared = new NotificationBatcher(h.db, { maxBatchesInFlight: 2 });
      const ids = await newOrders(20);
      const results = await Promise.all(
        ids.map((id) => receiveNotification({ db: h.db, batcher: shared, keys: [NOTIFY_KEY], log: silent }, { body: paidBody(id), contentType: FORM })),
      );
      expect(results.map((r) => r.outcome)).toEqual(ids.map(() => 'applied'));
      const forward = (await eventsOf(ids)).filter((e) => e.reason === 'forward');
      expect(forward.map((e) => e.merOrderId).sort()).toEqual([...ids].sort());
      // Two transactions of ten each.
      const perTx = new Map<string, number>();
      for (const e of forward) perTx.set(e.tx, (perTx.get(e.tx) ?? 0) + 1);
      expect([...perTx.values()]).toEqual([10, 10]);
      const stored = await h.db.select().from(notifications).where(inArray(notifications.merOrderId, ids));
      expect(stored).toHaveLength(20);
    });

    it('with two batches in flight, copies of one notification in both are applied once', async () => {
      const shared = new NotificationBatcher(h.db, { maxBatchesInFlight: 2 });
      const [twice, ...others] = await newOrders(6);
      const post = (body: string) => receiveNotification({ db: h.db, batcher: shared, keys: [NOTIFY_KEY], log: silent }, { body, contentType: FORM });
      const body = paidBody(twice as string);
      // The first copy and three others make the first batch; the second copy and two others, posted
      // on the next turn while the first is being written, the second.
      const first = [post(body), ...others.slice(0, 3).map((id) => post(paidBody(id)))];
      await new Promise((resolve) => setImmediate(resolve));
      const second = [post(body), ...others.slice(3).map((id) => post(paidBody(id)))];
      const results = await Promise.all([...first, ...second]);

      expect([results[0]?.outcome, results[4]?.outcome].sort()).toEqual(['applied', 'duplicate']);
      expect(results.filter((r) => r.outcome === 'applied')).toHaveLength(6);
      const events = await eventsOf([twice as string]);
      expect(events.map((e) => e.reason).sort()).toEqual(['created', 'forward']);
      const [payment] = await h.db.select().from(payments).where(eq(payments.merOrderId, twice as string));
      expect(payment).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
    });

    it('hands back what it cannot write plainly; each ends as it would alone', async () => {
      const [plain, twice, mismatched] = (await newOrders(3)) as [string, string, string];
      const unknown = newOrderId();
      const twiceBody = paidBody(twice);
      const results = await postAll([paidBody(plain), twiceBody, twiceBody, paidBody(mismatched, { totalAmount: '999' }), paidBody(unknown)]);

      expect(results[0]).toMatchObject({ outcome: 'applied', merOrderId: plain });
      // The same notification twice in one batch: applied once, recorded once more as a copy.
      expect(results.slice(1, 3).map((r) => r.outcome).sort()).toEqual(['applied', 'duplicate']);
      expect(results[3]).toMatchObject({ outcome: 'review', reason: 'mismatch:totalAmount', httpStatus: 200 });
      expect(results[4]).toMatchObject({ outcome: 'created', httpStatus: 200 });

      const byId = new Map((await h.db.select().from(payments).where(inArray(payments.merOrderId, [plain, twice, mismatched, unknown]))).map((p) => [p.merOrderId, p]));
      expect(byId.get(plain)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
      expect(byId.get(twice)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
      // A new review flag is an event of its own (CONTRACT.md "Event feed"): the version grows.
      expect(byId.get(mismatched)).toMatchObject({ status: 'NEW_ORDER', version: 2, needsReview: true, reviewReason: 'mismatch:totalAmount' });
      expect(byId.get(unknown)).toMatchObject({ status: 'TRADE_SUCCESS', needsReview: true });
      const events = await eventsOf([twice]);
      expect(events.map((e) => e.reason).sort()).toEqual(['created', 'forward']);
    });

    it('rolls a batch back whole when a redelivery took one dedupe key first; every notification is still decided once', async () => {
      const ids = await newOrders(5);
      const fields = ids.map((id) => signed(notificationFields(id)));
      const raced = fields[2] as Record<string, string>;
      // A copy of notification 2 stored by another connection first, with its dedupe key, without
      // moving the payment (as a copy found stale would be).
      await h.db.insert(notifications).values({
        contentType: FORM,
        rawBody: 'earlier copy',
        bodyHash: bodyHash('earlier copy'),
        verified: true,
        keyIndex: 0,
        notifyId: raced.notifyId ?? null,
        merOrderId: ids[2] as string,
        status: 'TRADE_SUCCESS',
        dedupeKey: dedupeKeyOf(raced, { merOrderId: ids[2] as string, status: 'TRADE_SUCCESS', totalAmount: 100 }),
        outcome: 'stale',
        reason: 'test',
      });

      const results = await postAll(fields.map((f) => formBody(f)));

      expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied', 'duplicate', 'applied', 'applied']);
      expect(results.every((r) => r.httpStatus === 200)).toBe(true);
      const events = await eventsOf(ids);
      // Nothing of the rolled-back batch is left: the raced payment has only its creation event.
      expect(events.filter((e) => e.merOrderId === ids[2]).map((e) => e.reason)).toEqual(['created']);
      expect(events.filter((e) => e.reason === 'forward').map((e) => e.merOrderId).sort()).toEqual([ids[0], ids[1], ids[3], ids[4]].sort());
    });

    it('answers 503 only for the notification whose write fails; the rest of its batch is stored', async () => {
      const ids = await newOrders(4);
      const [doomed] = await newOrders(1, 'doomed');
      await faults.on('notification_of_3194_doomed');
      try {
        const results = await postAll([...ids, doomed as string].map((id) => paidBody(id)));
        expect(results.slice(0, 4).map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
        expect(results[4]).toMatchObject({ outcome: 'unavailable', httpStatus: 503, body: 'FAILED' });
        // The batch rolled back whole; each of the four was then written alone, in its own transaction.
        const forward = (await eventsOf(ids)).filter((e) => e.reason === 'forward');
        expect(new Set(forward.map((e) => e.tx)).size).toBe(4);
      } finally {
        await faults.clear();
      }
      const [unchanged] = await h.db.select().from(payments).where(eq(payments.merOrderId, doomed as string));
      expect(unchanged).toMatchObject({ status: 'NEW_ORDER', version: 1 });
      expect(await h.db.select().from(notifications).where(eq(notifications.merOrderId, doomed as string))).toEqual([]);

      // UMS retries: now it is stored.
      const retry = await postAll([paidBody(doomed as string)]);
      expect(retry[0]).toMatchObject({ outcome: 'applied', httpStatus: 200 });
    });
  });

  describePostgres('a payment locked by another transaction [postgres]', () => {
    let h: TestDatabase;
    let batcher: NotificationBatcher;
    beforeAll(async () => {
      h = await postgresDatabase();
      batcher = new NotificationBatcher(h.db);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('delays its own notification only; the rest of the batch is stored meanwhile', async () => {
      const ids = Array.from({ length: 4 }, () => newOrderId());
      for (const merOrderId of ids) await insertNewOrder(h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
      const [held, ...others] = ids as [string, ...string[]];
      // Another session (say a client that died mid-transaction) holds the row lock of one payment.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = (async () => {
        const other = postgres(h.url as string, { max: 1, onnotice: () => {} });
        try {
          await other.begin(async (tx) => {
            await tx`select 1 from payments where mer_order_id = ${held} for update`;
            locked();
            await released;
          });
        } finally {
          await other.end();
        }
      })();
      await isLocked;

      const post = (merOrderId: string) =>
        receiveNotification({ db: h.db, batcher: batcher, keys: [NOTIFY_KEY], log: silent }, { body: formBody(signed(notificationFields(merOrderId))), contentType: FORM });
      const heldResult = post(held);
      const otherResults = await Promise.all(others.map(post));
      expect(otherResults.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
      const [stillOpen] = await h.db.select().from(payments).where(eq(payments.merOrderId, held));
      expect(stillOpen).toMatchObject({ status: 'NEW_ORDER', version: 1 });

      release();
      await holder;
      expect(await heldResult).toMatchObject({ outcome: 'applied', httpStatus: 200 });
    });
  });
});
