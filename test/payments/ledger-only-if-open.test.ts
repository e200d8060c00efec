import { afterAll, beforeAll, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import { paymentEvents } from '../../src/db/schema.js';
import { applyReport, insertNewOrder } from '../../src/payments/ledger.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';

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
    expect(r.payment).toMatchObject({
      status: 'TRADE_SUCCESS',
      version: 2,
      needsReview: true,
      reviewReason: 'close-attempt-on-paid-order',
    });
    expect(await statuses(merOrderId)).toEqual(['NEW_ORDER', 'TRADE_SUCCESS']);
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
