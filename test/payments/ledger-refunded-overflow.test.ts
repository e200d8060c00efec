/** refundedAmount is an int4 column: a sum it cannot hold is flagged for a person, never thrown (a 503 forever). */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { payments, refunds } from '../../src/db/schema.js';
import { applyReport } from '../../src/payments/ledger.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { newOrderId } from './notification-fixtures.js';

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
