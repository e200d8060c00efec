/**
 * Raw notification retention: past RAW_NOTIFICATION_RETENTION_DAYS a stored body keeps only the
 * fields the ledger reads; recent bodies and what the ledger derived from them are untouched.
 */
import { expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { notifications } from '../../../src/db/schema.js';
import { insertNewOrder, NotificationRetention, strippedBody } from '../../../src/payments/ledger.js';
import { receiveNotification } from '../../../src/http/notify.js';
import { batchedDatabase } from './harness.js';
import { describeEachDatabase } from '../../support/db.js';
import { FORM, MID, NOTIFY_KEY, TID, formBody, newOrderId, notificationFields, signed } from '../notification-fixtures.js';

const silent = pino({ level: 'silent' });
const DAY_MS = 24 * 60 * 60 * 1000;
const BUYER = { buyerId: 'oBuyer123', buyerUsername: '张三', bankCardNo: '6222020000001234', subBuyerId: 'oSub456' };

it('strips a form or JSON body down to the ledger fields, and an unreadable one to nothing', () => {
  const fields: Record<string, string> = { ...notificationFields('31940000001'), ...BUYER, refundOrderId: 'R1', refundAmount: '5', refundStatus: 'SUCCESS', sign: 'abc' };
  const kept = new URLSearchParams(strippedBody(FORM, formBody(fields)));
  expect(Object.fromEntries(kept)).toEqual({
    notifyId: fields.notifyId,
    merOrderId: '31940000001',
    status: 'TRADE_SUCCESS',
    mid: MID,
    tid: TID,
    instMid: 'MINIDEFAULT',
    totalAmount: '100',
    buyerPayAmount: '100',
    receiptAmount: '100',
    targetOrderId: fields.targetOrderId,
    targetSys: 'WXPay',
    seqId: fields.seqId,
    payTime: fields.payTime,
    settleDate: fields.settleDate,
    refundOrderId: 'R1',
    refundAmount: '5',
    refundStatus: 'SUCCESS',
  });
  expect(JSON.parse(strippedBody('application/json', JSON.stringify({ billNo: 'B1', billStatus: 'PAID', buyerId: 'x', billPayment: '{"buyerId":"x"}' })))).toEqual({
    billNo: 'B1',
    billStatus: 'PAID',
  });
  expect(strippedBody('application/json', '{not json')).toBe('');
  expect(strippedBody('text/plain', 'buyerId=x')).toBe('');
});

describeEachDatabase('notification retention', (kind) => {
  const t = batchedDatabase(kind);

  const rowOf = async (id: number | undefined) => (await t.h.db.select().from(notifications).where(eq(notifications.id, id as number)))[0];

  it('strips bodies older than the retention, once; newer ones keep every field', async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(t.h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
    const body = formBody(signed({ ...notificationFields(merOrderId), ...BUYER }));
    const applied = await receiveNotification({ db: t.h.db, batcher: t.batcher, keys: [NOTIFY_KEY], log: silent }, { body, contentType: FORM });
    const forged = formBody({ ...notificationFields(newOrderId()), ...BUYER, sign: 'forged' });
    const rejected = await receiveNotification({ db: t.h.db, batcher: t.batcher, keys: [NOTIFY_KEY], log: silent }, { body: forged, contentType: FORM });
    expect([applied.outcome, rejected.outcome]).toEqual(['applied', 'rejected']);

    // 89 days on: nothing is old enough yet.
    const at = (days: number) => new NotificationRetention({ db: t.h.db, retentionDays: 90, now: () => new Date(Date.now() + days * DAY_MS) });
    expect(await at(89).runOnce()).toBe(0);
    expect((await rowOf(applied.notificationId))?.rawBody).toBe(body);

    // 91 days on: both bodies lose every field the ledger does not read.
    expect(await at(91).runOnce()).toBeGreaterThanOrEqual(2);
    for (const id of [applied.notificationId, rejected.notificationId]) {
      const row = await rowOf(id);
      expect(row?.strippedAt).toBeInstanceOf(Date);
      for (const secret of Object.values(BUYER)) expect(row?.rawBody).not.toContain(encodeURIComponent(secret));
      expect(row?.rawBody).not.toContain('sign=');
    }
    const kept = Object.fromEntries(new URLSearchParams((await rowOf(applied.notificationId))?.rawBody));
    expect(kept).toMatchObject({ merOrderId, status: 'TRADE_SUCCESS', totalAmount: '100', mid: MID, tid: TID });
    expect(await rowOf(applied.notificationId)).toMatchObject({ outcome: 'applied', verified: true, merOrderId });

    // A second pass finds nothing left to strip.
    expect(await at(92).runOnce()).toBe(0);
  });

  it('runs a pass when started and stops cleanly', async () => {
    const forged = formBody({ ...notificationFields(newOrderId()), ...BUYER, sign: 'forged again' });
    const rejected = await receiveNotification({ db: t.h.db, batcher: t.batcher, keys: [NOTIFY_KEY], log: silent }, { body: forged, contentType: FORM });
    const retention = new NotificationRetention({ db: t.h.db, retentionDays: 1, intervalMs: 60_000, now: () => new Date(Date.now() + 2 * DAY_MS) });
    retention.start();
    await expect.poll(async () => (await rowOf(rejected.notificationId))?.strippedAt, { timeout: 10_000 }).toBeInstanceOf(Date);
    await retention.stop();
    expect(await retention.runOnce()).toBe(0);
  });
});
