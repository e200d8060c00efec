import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { notifications, paymentEvents, payments, refunds } from '../../src/db/schema.js';
import { buildServer } from '../../src/http/server.js';
import { notifyRoute, type NotifyAnswer } from '../../src/http/notify.js';
import { insertNewOrder, NotificationBatcher, receiptsOf } from '../../src/payments/ledger.js';
import { bodyHash, KEPT_REJECTED_BODY_BYTES, truncateUtf8 } from '../../src/payments/ledger/rows.js';

import { verifyNotifySign } from '../../src/ums/sign.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { vectorsOf } from '../support/vectors.js';
import {
  FORM,
  MID,
  NOTIFY_KEY,
  PREVIOUS_KEY,
  TID,
  formBody,
  newOrderId,
  notificationFields,
  signed,
} from '../payments/notification-fixtures.js';

const silent = pino({ level: 'silent' });

describeEachDatabase('POST /notify/ums', (kind) => {
  let h: TestDatabase;
  let app: FastifyInstance;
  let base: string;
  let keys: string[] = [NOTIFY_KEY];
  const outcomes: NotifyAnswer[] = [];
  const logLines: string[] = [];
  const routeLog = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

  beforeAll(async () => {
    h = await kind.open();
    app = await buildServer({
      log: silent,
      ready: () => h.ready(),
      plugins: [notifyRoute({ db: h.db, batcher: new NotificationBatcher(h.db), keys: () => keys, log: routeLog, onOutcome: (o) => outcomes.push(o) })],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  const post = async (body: string, contentType = FORM) => {
    const res = await fetch(`${base}/notify/ums`, { method: 'POST', headers: { 'content-type': contentType }, body });
    return { status: res.status, text: await res.text() };
  };
  const order = async (totalAmount = 100) => {
    const merOrderId = newOrderId();
    await insertNewOrder(h.db, { merOrderId, totalAmount, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
    return merOrderId;
  };
  const paymentOf = async (merOrderId: string) =>
    (await h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId)))[0];
  const eventsOf = (merOrderId: string) =>
    h.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId)).orderBy(asc(paymentEvents.id));
  const notificationsOf = (merOrderId: string) =>
    h.db.select().from(notifications).where(eq(notifications.merOrderId, merOrderId)).orderBy(asc(notifications.id));
  /** [outcome, receivedCount] of each stored body of the order, oldest first. */
  const receivedOf = async (merOrderId: string) =>
    Promise.all((await notificationsOf(merOrderId)).map(async (n) => [n.outcome, (await receiptsOf(h.db, n.id))?.receivedCount]));

  it('answers SUCCESS and moves the payment to TRADE_SUCCESS with every reported field', async () => {
    const merOrderId = await order();
    const res = await post(formBody(signed(notificationFields(merOrderId))));
    expect(res).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({
      status: 'TRADE_SUCCESS',
      version: 2,
      targetOrderId: '4200001471202206211141496123',
      targetSys: 'WXPay',
      seqId: '01120706230N',
      payTime: new Date('2026-11-27T04:30:05Z'),
      settleDate: '2026-11-27',
      buyerPayAmount: 100,
      receiptAmount: 100,
      needsReview: false,
    });
    const events = await eventsOf(merOrderId);
    expect(events.map((e) => [e.source, e.previousStatus, e.status, e.version])).toEqual([
      ['MUTATION', null, 'NEW_ORDER', 1],
      ['NOTIFY', 'NEW_ORDER', 'TRADE_SUCCESS', 2],
    ]);
    expect(events[1]?.payload).not.toHaveProperty('sign');
    const [stored] = await notificationsOf(merOrderId);
    expect(stored).toMatchObject({ verified: true, keyIndex: 0, outcome: 'applied', paymentEventId: events[1]?.id });
  });

  it('accepts MD5, lower-case hex and a JSON body', async () => {
    const a = await order();
    expect(await post(formBody(signed(notificationFields(a, { signType: 'MD5' }))))).toEqual({ status: 200, text: 'SUCCESS' });
    const b = await order();
    const lower = signed(notificationFields(b));
    lower.sign = (lower.sign ?? '').toLowerCase();
    expect(await post(formBody(lower))).toEqual({ status: 200, text: 'SUCCESS' });
    const c = await order();
    const f = signed(notificationFields(c));
    const json = JSON.stringify({ ...f, totalAmount: 100, buyerPayAmount: 100, receiptAmount: 100 });
    expect(await post(json, 'application/json')).toEqual({ status: 200, text: 'SUCCESS' });
    for (const id of [a, b, c]) expect((await paymentOf(id))?.status).toBe('TRADE_SUCCESS');
  });

  describe('every notification vector (PROTOCOL.md appendix A)', () => {
    for (const v of vectorsOf('notification')) {
      const body = (v.input.formBody ?? v.expected.formBody) as string;
      // A value holding `&name=` (NTF-04/05's srcReserve "shop=hz01&table=7") verifies, but its
      // signed text could also be read as other fields: refused, and kept as verified for audit.
      const ambiguous = [...new URLSearchParams(body)].find(([name, value]) => name !== 'sign' && /&[A-Za-z][A-Za-z0-9_]*=/.test(value));
      it(`${v.id} verifies and is ${ambiguous ? 'refused as ambiguous' : 'stored'}`, async () => {
        keys = [v.input.key as string];
        try {
          const res = await post(body);
          const last = outcomes.at(-1);
          if (ambiguous) {
            expect(res).toEqual({ status: 400, text: 'FAILED' });
            const [row] = await h.db.select().from(notifications).where(eq(notifications.bodyHash, bodyHash(body)));
            expect(row).toMatchObject({ outcome: 'rejected', reason: `ambiguous-field:${ambiguous[0]}`, verified: true, keyIndex: 0 });
            expect(await paymentOf(last?.merOrderId ?? '')).toBeUndefined();
            return;
          }
          expect(res).toEqual({ status: 200, text: 'SUCCESS' });
          // Orders from the published samples were never created here: money moved, so they
          // become payments flagged for review (or, when a vector repeats an order, apply to it).
          expect(['created', 'applied', 'duplicate', 'stale']).toContain(last?.outcome);
          const row = await paymentOf(last?.merOrderId ?? '');
          expect(row?.needsReview).toBe(true);
        } finally {
          keys = [NOTIFY_KEY];
        }
      });
    }
  });

  it('recognises a redelivery by notifyId: SUCCESS, nothing applied twice, the copy kept', async () => {
    const merOrderId = await order();
    const body = formBody(signed(notificationFields(merOrderId)));
    expect(await post(body)).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await post(body)).toEqual({ status: 200, text: 'SUCCESS' });
    expect((await paymentOf(merOrderId))?.version).toBe(2);
    // The copy is the same body: counted on the stored row, not stored again.
    expect(await receivedOf(merOrderId)).toEqual([['applied', 2]]);
  });

  it('without notifyId, recognises a redelivery by order, status and amounts', async () => {
    const merOrderId = await order();
    const body = formBody(signed(notificationFields(merOrderId, { notifyId: '' })));
    await post(body);
    expect(await post(body)).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await receivedOf(merOrderId)).toEqual([['applied', 2]]);
    expect((await eventsOf(merOrderId))).toHaveLength(2);
  });

  it('acknowledges an out-of-order status as stale and changes nothing', async () => {
    const merOrderId = await order();
    await post(formBody(signed(notificationFields(merOrderId))));
    const res = await post(formBody(signed(notificationFields(merOrderId, { status: 'WAIT_BUYER_PAY' }))));
    expect(res).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
    expect((await notificationsOf(merOrderId)).map((n) => n.outcome)).toEqual(['applied', 'stale']);
  });

  it('a refund that arrives before the success (whose notice was lost) moves forward; the late success is stale', async () => {
    const merOrderId = await order(1000);
    const pay = { totalAmount: '1000', buyerPayAmount: '1000', receiptAmount: '1000' };
    const refund = formBody(signed(notificationFields(merOrderId, { ...pay, status: 'TRADE_REFUND', refundOrderId: `${merOrderId}R`, refundAmount: '1000' })));
    expect(await post(refund)).toEqual({ status: 200, text: 'SUCCESS' });
    const after = await paymentOf(merOrderId);
    expect(after).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 1000, version: 2 });
    // The scheduler is asked to confirm it with a query.
    expect(after?.nextSyncAt).toBeInstanceOf(Date);
    expect(await post(formBody(signed(notificationFields(merOrderId, pay))))).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', version: 2 });
    expect((await notificationsOf(merOrderId)).map((n) => [n.outcome, n.reason])).toEqual([
      ['applied', 'refund-without-success'],
      ['stale', 'older-status'],
    ]);
  });

  it('applies partial refunds, each once, and the alias REFUND', async () => {
    const merOrderId = await order(1000);
    const pay = { totalAmount: '1000', buyerPayAmount: '1000', receiptAmount: '1000' };
    await post(formBody(signed(notificationFields(merOrderId, pay))));
    const refund = (n: number, amount: string, status = 'TRADE_REFUND') =>
      formBody(signed(notificationFields(merOrderId, { ...pay, status, refundOrderId: `${merOrderId}R${n}`, refundAmount: amount })));
    const first = refund(1, '300');
    expect(await post(first)).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await post(first)).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await post(refund(2, '200', 'REFUND'))).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 500, version: 4 });
    const rows = await h.db.select().from(refunds).where(eq(refunds.merOrderId, merOrderId));
    expect(rows.map((r) => r.refundAmount).sort()).toEqual([200, 300]);
  });

  it('stores but does not apply a notification whose amount, mid or tid differs from the order', async () => {
    const merOrderId = await order(100);
    const res = await post(formBody(signed(notificationFields(merOrderId, { totalAmount: '1' }))));
    expect(res).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'NEW_ORDER', needsReview: true, reviewReason: 'mismatch:totalAmount' });
    const other = await order(100);
    await post(formBody(signed(notificationFields(other, { mid: '898000000000000' }))));
    expect(await paymentOf(other)).toMatchObject({ status: 'NEW_ORDER', needsReview: true, reviewReason: 'mismatch:mid' });
  });

  it('stores a success after a local close and flags it for review', async () => {
    const merOrderId = await order();
    // A timeout close: never paid, so no payTime, no buyer amounts.
    const closed = notificationFields(merOrderId, { status: 'TRADE_CLOSED' });
    for (const name of ['payTime', 'buyerPayAmount', 'receiptAmount', 'targetOrderId', 'settleDate']) delete closed[name];
    await post(formBody(signed(closed)));
    expect(await post(formBody(signed(notificationFields(merOrderId))))).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_CLOSED', needsReview: true, reviewReason: 'paid-after-close' });
  });

  it('turns an authentic notification for an unknown order into a flagged payment', async () => {
    const merOrderId = newOrderId();
    expect(await post(formBody(signed(notificationFields(merOrderId, { totalAmount: '4200' }))))).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({
      status: 'TRADE_SUCCESS',
      totalAmount: 4200,
      mid: MID,
      tid: TID,
      needsReview: true,
      reviewReason: 'unknown-order',
    });
  });

  describe('forgeries and malformed input: 400 FAILED, kept for audit, no payment touched', () => {
    const expectRejected = async (merOrderId: string, body: string, reason: string, contentType = FORM) => {
      expect(await post(body, contentType)).toEqual({ status: 400, text: 'FAILED' });
      expect(await paymentOf(merOrderId)).toMatchObject({ status: 'NEW_ORDER', version: 1, needsReview: false });
      const rows = await h.db.select().from(notifications).where(eq(notifications.bodyHash, bodyHash(body)));
      expect(rows).toHaveLength(1);
      // What is kept of a body nobody vouches for: its first bytes.
      expect(rows[0]).toMatchObject({ outcome: 'rejected', reason, rawBody: truncateUtf8(body, KEPT_REJECTED_BODY_BYTES) });
    };

    it('a signature made with another key', async () => {
      const merOrderId = await order();
      await expectRejected(merOrderId, formBody(signed(notificationFields(merOrderId), 'not-the-key')), 'bad-signature');
    });

    it('a bad signature is diagnosed for the operator, in the stored attempt and the log, without the key', async () => {
      const merOrderId = await order();
      const linesBefore = logLines.length;
      const f = signed(notificationFields(merOrderId), 'not-the-key');
      const body = formBody(f);
      await expectRejected(merOrderId, body, 'bad-signature');
      const [row] = await h.db.select().from(notifications).where(eq(notifications.bodyHash, bodyHash(body)));
      expect(row?.diagnosis).toMatch(/^bad-signature\/wrong-key: /);
      const logged = logLines.slice(linesBefore).join('');
      expect(logged).toContain('bad-signature/wrong-key');
      expect(logged).not.toContain(NOTIFY_KEY);
      expect(logged).not.toContain(f.sign);
      expect(row?.diagnosis).not.toContain(NOTIFY_KEY);
    });

    it('a tampered amount', async () => {
      const merOrderId = await order();
      const f = signed(notificationFields(merOrderId));
      await expectRejected(merOrderId, formBody({ ...f, totalAmount: '1' }), 'bad-signature');
    });

    it('an added field the signature does not cover', async () => {
      const merOrderId = await order();
      const f = signed(notificationFields(merOrderId));
      await expectRejected(merOrderId, formBody({ ...f, refundAmount: '100' }), 'bad-signature');
    });

    it('a missing sign', async () => {
      const merOrderId = await order();
      await expectRejected(merOrderId, formBody(notificationFields(merOrderId)), 'missing-sign');
    });

    it('a signature that was decoded twice (a %2B that became a space)', async () => {
      const merOrderId = await order();
      const f = signed(notificationFields(merOrderId, { srcReserve: 'a+b' }));
      await expectRejected(merOrderId, formBody(f).replace('a%2Bb', 'a+b'), 'bad-signature');
    });

    it('an authentic body whose amount is not whole fen', async () => {
      const merOrderId = await order();
      await expectRejected(merOrderId, formBody(signed(notificationFields(merOrderId, { totalAmount: '1.00' }))), 'invalid-field:totalAmount');
    });

    it('an authentic body whose amounts do not fit an integer column (instead of 503 for every retry)', async () => {
      const merOrderId = await order();
      await expectRejected(merOrderId, formBody(signed(notificationFields(merOrderId, { totalAmount: '3000000000' }))), 'invalid-field:totalAmount');
      await expectRejected(merOrderId, formBody(signed(notificationFields(merOrderId, { buyerPayAmount: '2147483648' }))), 'invalid-field:buyerPayAmount');
      await expectRejected(merOrderId, formBody(signed(notificationFields(merOrderId, { receiptAmount: '-1' }))), 'invalid-field:receiptAmount');
      await expectRejected(
        merOrderId,
        formBody(signed(notificationFields(merOrderId, { status: 'TRADE_REFUND', refundOrderId: `${merOrderId}R`, refundAmount: '99999999999' }))),
        'invalid-field:refundAmount',
      );
      const unknownOrder = newOrderId();
      const body = formBody(signed(notificationFields(unknownOrder, { totalAmount: '3000000000' })));
      expect(await post(body)).toEqual({ status: 400, text: 'FAILED' });
      const [stored] = await h.db.select().from(notifications).where(eq(notifications.bodyHash, bodyHash(body)));
      expect(stored).toMatchObject({ outcome: 'rejected', reason: 'invalid-field:totalAmount', verified: true, merOrderId: unknownOrder });
      expect(await paymentOf(unknownOrder)).toBeUndefined();
    });

    it('an authentic body at the largest amount UMS allows (100000000 fen) is stored; one fen more is rejected', async () => {
      const merOrderId = newOrderId();
      const body = formBody(signed(notificationFields(merOrderId, { totalAmount: '100000000', buyerPayAmount: '100000000', receiptAmount: '0' })));
      expect(await post(body)).toEqual({ status: 200, text: 'SUCCESS' });
      expect(await paymentOf(merOrderId)).toMatchObject({ totalAmount: 100000000, needsReview: true });
      const ours = await order();
      await expectRejected(ours, formBody(signed(notificationFields(ours, { totalAmount: '100000001' }))), 'invalid-field:totalAmount');
      await expectRejected(
        ours,
        formBody(signed(notificationFields(ours, { status: 'TRADE_REFUND', refundAmount: '2000000000', refundTargetOrderId: 'X1' }))),
        'invalid-field:refundAmount',
      );
    });

    it('an authentic body with a status nobody knows', async () => {
      const merOrderId = await order();
      await expectRejected(merOrderId, formBody(signed(notificationFields(merOrderId, { status: 'PAID_MAYBE' }))), 'invalid-field:status');
    });

    it('a JSON array, broken JSON and an unsupported content type', async () => {
      const merOrderId = await order();
      await expectRejected(merOrderId, `[${JSON.stringify(signed(notificationFields(merOrderId)))}]`, 'unparsable-body', 'application/json');
      await expectRejected(merOrderId, `{"merOrderId":"${merOrderId}"`, 'unparsable-body', 'application/json');
      await expectRejected(merOrderId, formBody(signed(notificationFields(merOrderId))), 'unsupported-content-type', 'text/plain');
    });

    it('a forged notification never claims the notifyId of a genuine one', async () => {
      const merOrderId = await order();
      const genuine = signed(notificationFields(merOrderId));
      await expectRejected(merOrderId, formBody(signed({ ...genuine, sign: '' }, 'wrong')), 'bad-signature');
      expect(await post(formBody(genuine))).toEqual({ status: 200, text: 'SUCCESS' });
      expect((await paymentOf(merOrderId))?.status).toBe('TRADE_SUCCESS');
    });
  });

  it('answers 413 FAILED for a body over 64 KiB, and 400 FAILED without a content type', async () => {
    const merOrderId = await order();
    const huge = formBody(signed(notificationFields(merOrderId, { attachedData: 'x'.repeat(70 * 1024) })));
    expect(await post(huge)).toEqual({ status: 413, text: 'FAILED' });
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'rejected', httpStatus: 413 });
    const res = await fetch(`${base}/notify/ums`, { method: 'POST', body: new Uint8Array(Buffer.from('a=b')) });
    expect({ status: res.status, text: await res.text() }).toEqual({ status: 400, text: 'FAILED' });
    expect((await paymentOf(merOrderId))?.version).toBe(1);
  });

  describe('key rotation', () => {
    it('accepts the previous key while it is configured, and not after', async () => {
      keys = [NOTIFY_KEY, PREVIOUS_KEY];
      try {
        const merOrderId = await order();
        expect(await post(formBody(signed(notificationFields(merOrderId), PREVIOUS_KEY)))).toEqual({ status: 200, text: 'SUCCESS' });
        const [row] = await notificationsOf(merOrderId);
        expect(row).toMatchObject({ verified: true, keyIndex: 1 });
        const current = await order();
        expect(await post(formBody(signed(notificationFields(current), NOTIFY_KEY)))).toEqual({ status: 200, text: 'SUCCESS' });
      } finally {
        keys = [NOTIFY_KEY];
      }
      const later = await order();
      expect(await post(formBody(signed(notificationFields(later), PREVIOUS_KEY)))).toEqual({ status: 400, text: 'FAILED' });
    });
  });

  it('a storage failure answers 503 FAILED, writes nothing, and the retry succeeds', async () => {
    const merOrderId = await order();
    const body = formBody(signed(notificationFields(merOrderId)));
    // Make the last write of the transaction (storing the notification) fail: the payment update
    // and the event written before it must disappear with the rollback.
    await h.db.execute(sql.raw(`create or replace function fail_event() returns trigger language plpgsql as $$
      begin raise exception 'disk full (simulated)'; end $$`));
    await h.db.execute(sql.raw('create trigger fail_event before insert on notifications for each row execute function fail_event()'));
    const sign = new URLSearchParams(body).get('sign') ?? 'no sign';
    const linesBefore = logLines.length;
    try {
      expect(await post(body)).toEqual({ status: 503, text: 'FAILED' });
      const logged = logLines.slice(linesBefore).join('');
      expect(logged).toContain('notification could not be stored');
      // The driver's error repeats the query parameters (the raw body): none of it may be logged.
      expect(logged).not.toContain(sign);
      expect(logged).not.toContain('raw_body');
      expect(await notificationsOf(merOrderId)).toEqual([]);
      expect(await paymentOf(merOrderId)).toMatchObject({ status: 'NEW_ORDER', version: 1 });
      expect(await eventsOf(merOrderId)).toHaveLength(1);
    } finally {
      await h.db.execute(sql.raw('drop trigger fail_event on notifications'));
      await h.db.execute(sql.raw('drop function fail_event()'));
    }
    expect(await post(body)).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
    expect((await notificationsOf(merOrderId)).map((n) => n.outcome)).toEqual(['applied']);
  });

  it('no log line carries a signature or the communication key', async () => {
    const merOrderId = await order();
    const good = signed(notificationFields(merOrderId));
    const forged = signed(notificationFields(merOrderId), 'forger-key');
    const linesBefore = logLines.length;
    await post(formBody(forged));
    await post(formBody(good));
    const logged = logLines.slice(linesBefore).join('');
    expect(logged).toContain(merOrderId);
    for (const secret of [good.sign, forged.sign, NOTIFY_KEY, 'forger-key']) expect(logged).not.toContain(secret);
  });

  it('the stored body verifies again: what we kept is what was signed', async () => {
    const merOrderId = await order();
    const body = formBody(signed(notificationFields(merOrderId)));
    await post(body);
    const [row] = await notificationsOf(merOrderId);
    const fields = Object.fromEntries(new URLSearchParams(row?.rawBody ?? ''));
    expect(verifyNotifySign(fields, [NOTIFY_KEY]).ok).toBe(true);
  });
});
