/**
 * RECONCILE_DAILY_AT: every instance looks, exactly one runs yesterday's reconciliation. Two
 * reconcilers on one database (PGlite and Postgres), and two whole gateways on one Postgres.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import type { Gateway } from '../../../src/app.js';
import { reconciliationRuns } from '../../../src/db/schema.js';
import { previousBeijingDay } from '../../../src/payments/reconcile/days.js';
import { Reconciler } from '../../../src/payments/reconcile/reconciler.js';
import { databaseKinds, describeEachDatabase, describePostgres, type TestDatabase } from '../../support/db.js';
import { sharedStore, startInstance, until, type SharedStore } from '../operator/support.js';

describeEachDatabase('the daily reconciliation with two reconcilers on one database', (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await kind.open();
  }, 60_000);
  afterAll(() => db?.close());

  it('creates and finishes one run for yesterday, whichever instance wins', async () => {
    // Nothing happened yesterday in this fresh database: no UMS call is made.
    const ask = () => Promise.reject(new Error('no payment to ask about'));
    const options = { db: db.db, ask, dailyAt: '00:00', pollMs: 50, leaseMs: 1_000 };
    const a = new Reconciler(options).start();
    const b = new Reconciler(options).start();
    try {
      const yesterday = previousBeijingDay(new Date());
      const done = await until('the daily run DONE', async () => {
        const rows = await db.db.select().from(reconciliationRuns).where(and(eq(reconciliationRuns.trigger, 'daily'), eq(reconciliationRuns.date, yesterday)));
        return rows.length > 0 && rows.every((r) => r.status === 'DONE') ? rows : undefined;
      });
      // Both have looked many times by now (every 50 ms).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const rows = await db.db.select().from(reconciliationRuns).where(eq(reconciliationRuns.trigger, 'daily'));
      expect(rows).toHaveLength(1);
      expect(done[0]).toMatchObject({ merchantId: 'default', actor: 'system', status: 'DONE' });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describePostgres('the daily reconciliation with two gateways on one Postgres', () => {
  let store: SharedStore;
  let one: Gateway | undefined;
  let two: Gateway | undefined;
  beforeAll(async () => {
    store = await sharedStore(databaseKinds.find((k) => k.driver === 'postgres')!);
  }, 60_000);
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await store?.close();
  });

  it('fires once', async () => {
    const env = { RECONCILE_DAILY_AT: '00:00' };
    const options = { reconcile: { pollMs: 100 } };
    [one, two] = await Promise.all([startInstance(store, env, options), startInstance(store, env, options)]);
    const yesterday = previousBeijingDay(new Date());
    await until('the daily run DONE', async () => {
      const rows = await one!.database.db.select().from(reconciliationRuns).where(eq(reconciliationRuns.date, yesterday));
      return rows[0]?.status === 'DONE' ? rows : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const rows = await one.database.db.select().from(reconciliationRuns).where(eq(reconciliationRuns.trigger, 'daily'));
    expect(rows).toHaveLength(1);
  }, 60_000);
});
