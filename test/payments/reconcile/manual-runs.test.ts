/**
 * The reconcile mutation's runs are bounded: at most one RUNNING run per (merchant, date) (asking
 * again answers it), and a new manual run counts against the instance's maxRuns like any other.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { reconciliationRuns } from '../../../src/db/schema.js';
import { isPaymentError } from '../../../src/payments/errors.js';
import { insertNewOrder } from '../../../src/payments/ledger.js';
import { previousBeijingDay } from '../../../src/payments/reconcile/days.js';
import { Reconciler } from '../../../src/payments/reconcile/reconciler.js';
import { beijingDate } from '../../../src/ums/time.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';

describeEachDatabase('manual reconciliation runs', (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await kind.open();
  }, 60_000);
  afterAll(() => db?.close());

  it('answers the RUNNING run of a (merchant, date) again, and refuses a new one past maxRuns', async () => {
    await insertNewOrder(db.db, { merOrderId: `rec${Date.now()}`, totalAmount: 1, mid: 'm', tid: 't', channel: 'QR_CODE' });
    // UMS never answers until released: the run stays RUNNING meanwhile.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const ask = async () => {
      await held;
      throw new Error('released');
    };
    const reconciler = new Reconciler({ db: db.db, ask, maxRuns: 1, leaseMs: 5_000 });
    try {
      const today = beijingDate(new Date());
      const first = await reconciler.reconcile({ date: today, merchantId: 'default', actor: 'op1' });
      const again = await reconciler.reconcile({ date: today, merchantId: 'default', actor: 'op2' });
      expect(again.id).toBe(first.id);
      const other = await reconciler.reconcile({ date: previousBeijingDay(new Date()), merchantId: 'default', actor: 'op1' }).catch((err: unknown) => err);
      expect(isPaymentError(other) && other.code).toBe('CONFLICT');
      const running = await db.db.select().from(reconciliationRuns).where(eq(reconciliationRuns.status, 'RUNNING'));
      expect(running.map((r) => r.id)).toEqual([first.id]);
    } finally {
      release();
      await reconciler.close();
    }
  });
});
