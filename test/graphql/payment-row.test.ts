/**
 * src/graphql/payment-row.ts maps the hot read's row by hand: it must give exactly what Drizzle's
 * own select gives, on both drivers, for a row with every column set (a column read from the
 * wrong position, or decoded differently, shows here) and for one with the nullable ones null.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq, getTableColumns } from 'drizzle-orm';
import { payments } from '../../src/db/schema.js';
import { PAYMENT_COLUMNS, preparePaymentByOrder } from '../../src/graphql/payment-row.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';

describeEachDatabase('preparePaymentByOrder', (kind) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await kind.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('names every column of payments, each once', () => {
    expect([...PAYMENT_COLUMNS].sort()).toEqual(Object.keys(getTableColumns(payments)).sort());
  });

  it('answers what Drizzle answers, every column set or left null, and nothing for an unknown order', async () => {
    const at = (s: number) => new Date(Date.UTC(2026, 10, 27, 12, 0, s, 123));
    await h.db.insert(payments).values([
      {
        merOrderId: 'ROW-FULL',
        merchantId: 'm-1',
        status: 'PAID',
        version: 3,
        channel: 'WECHAT_NATIVE',
        totalAmount: 1234,
        mid: 'MID',
        tid: 'TID',
        instMid: 'QRPAYDEFAULT',
        description: 'desc',
        targetOrderId: 'T1',
        targetSys: 'WXPay',
        seqId: 'SEQ',
        payTime: at(1),
        settleDate: '20261127',
        buyerPayAmount: 1200,
        receiptAmount: 1100,
        refundedAmount: 10,
        needsReview: true,
        reviewReason: 'why',
        attachedData: 'att',
        srcReserve: 'src',
        metadata: { a: '1', nested: { b: [1, 2] } },
        secureTransaction: true,
        secureStatus: 'UNCOMPLETED',
        completedAmount: 5,
        divisionFlag: true,
        platformAmount: 7,
        subOrders: [{ mid: 'S1', totalAmount: 3 }],
        expireTime: at(2),
        nextSyncAt: at(3),
        syncAttempts: 4,
        lastEventAt: at(4),
        createdAt: at(5),
        updatedAt: at(6),
      },
      { merOrderId: 'ROW-BARE', status: 'NEW_ORDER', totalAmount: 1, mid: 'MID', tid: 'TID' },
    ]);
    const read = preparePaymentByOrder(h.db, 'test_payment_row');
    for (const id of ['ROW-FULL', 'ROW-BARE']) {
      const [drizzle] = await h.db.select().from(payments).where(eq(payments.merOrderId, id));
      const mine = await read.execute({ merOrderId: id });
      expect(mine).toEqual(drizzle);
      // Same keys in the same order (what JSON of the row shows).
      expect(Object.keys(mine ?? {})).toEqual(Object.keys(drizzle ?? {}));
    }
    expect(await read.execute({ merOrderId: 'ROW-NONE' })).toBeUndefined();
  });
});
