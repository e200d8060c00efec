/**
 * Reconciliation by query-back over a real simulator: one lost notification (corrected), one
 * amount mismatch, one unpaid and one normal payment, each classified, with the day's totals; a
 * run stopped mid-way and taken up by the next instance on the same database, each payment
 * counted once; bad dates refused.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../../src/app.js';
import { DEMO } from '../../../src/config.js';
import { startSimulator, type UmsSimulator } from '../../../src/sim/simulator.js';
import { beijingDate } from '../../../src/ums/time.js';
import { describeEachDatabase } from '../../support/db.js';
import { admin, createPayment, payment, paymentUntil, sharedStore, simPay, startInstance, until, type SharedStore } from './support.js';

const RECONCILE = `mutation($date: String!) { reconcile(date: $date) { id date merchantId status } }`;
const RUN = `query($id: ID!) { reconciliationRun(id: $id) { id status date merchantId finishedAt
  counts { matched corrected missingAtUms statusMismatch amountMismatch errors }
  totals { paid refunded umsPaid umsRefunded }
  items { merOrderId kind ours theirs note } } }`;

interface Run {
  id: string;
  status: string;
  date: string;
  merchantId: string;
  counts: Record<string, number>;
  totals: { paid: number; refunded: number; umsPaid: number; umsRefunded: number };
  items: { merOrderId: string; kind: string; ours: unknown; theirs: unknown; note: string | null }[];
}

async function run(gw: Gateway, id: string): Promise<Run> {
  const answer = await admin<{ reconciliationRun: Run }>(gw, RUN, { id });
  if (answer.errors) throw new Error(JSON.stringify(answer.errors));
  return answer.data!.reconciliationRun;
}

async function start(gw: Gateway, date: string): Promise<string> {
  const answer = await admin<{ reconcile: { id: string; status: string } }>(gw, RECONCILE, { date });
  if (answer.errors) throw new Error(JSON.stringify(answer.errors));
  expect(answer.data!.reconcile.status).toBe('RUNNING');
  return answer.data!.reconcile.id;
}

describeEachDatabase('reconcile', (kind) => {
  let store: SharedStore;
  let gw: Gateway;

  beforeAll(async () => {
    store = await sharedStore(kind);
    gw = await startInstance(store, {}, { reconcile: { pollMs: 200, leaseMs: 2_000, umsPerSecond: 200 } });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await store?.close();
  });

  it('classifies a day: a lost notification CORRECTED, an amount mismatch, an unpaid and a normal payment MATCHED; totals in fen', async () => {
    const sim = gw.simulator!.url;
    const lost = await createPayment(gw, 1000);
    const odd = await createPayment(gw, 2000);
    const unpaid = await createPayment(gw, 3000);
    const normal = await createPayment(gw, 4000);
    await simPay(sim, lost, { notify: false });
    await simPay(sim, odd, { amount: 1500, notify: false });
    await simPay(sim, normal);
    await paymentUntil(gw, normal, 'the normal payment paid', (p) => p.status === 'TRADE_SUCCESS');

    const today = beijingDate();
    const listed = (await (await fetch(`${sim}/_sim/orders?date=${today}`)).json()) as { orders: { merOrderId: string }[] };
    expect(listed.orders.map((o) => o.merOrderId)).toEqual(expect.arrayContaining([lost, odd, unpaid, normal]));

    const id = await start(gw, today);
    const done = await until('the run DONE', async () => {
      const r = await run(gw, id);
      return r.status === 'RUNNING' ? undefined : r;
    }, 30_000);
    expect(done.status).toBe('DONE');
    const kindOf = Object.fromEntries(done.items.map((i) => [i.merOrderId, i.kind]));
    expect(kindOf).toMatchObject({ [lost]: 'CORRECTED', [odd]: 'AMOUNT_MISMATCH', [unpaid]: 'MATCHED', [normal]: 'MATCHED' });
    expect(done.items).toHaveLength(4);
    expect(done.counts).toEqual({ matched: 2, corrected: 1, missingAtUms: 0, statusMismatch: 0, amountMismatch: 1, errors: 0 });
    // As the gateway had them before the look (only the normal payment was known paid), and as UMS has them.
    expect(done.totals).toEqual({ paid: 4000, refunded: 0, umsPaid: 1000 + 1500 + 4000, umsRefunded: 0 });

    const corrected = await payment(gw, lost);
    expect(corrected.status).toBe('TRADE_SUCCESS');
    expect(corrected.events.at(-1)!.source).toBe('SYNC');
    const mismatched = await payment(gw, odd);
    expect(mismatched).toMatchObject({ status: 'NEW_ORDER', totalAmount: 2000, needsReview: true, reviewReason: 'mismatch:totalAmount' });
  }, 60_000);

  it('refuses a date that is no business day, or in the future', async () => {
    for (const date of ['2026-02-30', '20261201', 'yesterday', '9999-01-01']) {
      const answer = await admin(gw, RECONCILE, { date });
      expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });
});

describeEachDatabase('a reconciliation run stopped mid-way', (kind) => {
  let store: SharedStore;
  let sim: UmsSimulator;

  beforeAll(async () => {
    store = await sharedStore(kind);
    sim = await startSimulator({ credentials: { ...DEMO } });
  }, 60_000);
  afterAll(async () => {
    await sim?.close();
    await store?.close();
  });

  it('is taken up by the next instance on the same database and finished, each payment counted once', async () => {
    const options = { simulator: sim, reconcile: { pollMs: 200, leaseMs: 1_500, umsPerSecond: 200 } };
    const first = await startInstance(store, {}, options);
    const ids: string[] = [];
    let runId: string;
    let classifiedBeforeStop = 0;
    try {
      for (let i = 0; i < 12; i++) ids.push(await createPayment(first, 100 + i));
      await simPay(sim.url, ids[0]!, { notify: false });
      // UMS answers slowly: the run is still working when its instance stops.
      sim.scenario({ kind: 'slow', delayMs: 800, count: 100, path: '/v1/netpay/bills/query' });
      runId = await start(first, beijingDate());
      classifiedBeforeStop = await until('some items classified', async () => {
        const r = await run(first, runId);
        const n = Object.values(r.counts).reduce((a, b) => a + b, 0);
        return n >= 1 ? n : undefined;
      }, 30_000);
    } finally {
      await first.close();
    }
    const left = await (async () => {
      const second = await startInstance(store, {}, options);
      try {
        // At most `concurrency` (4) items were in flight when the first instance stopped: the rest is left.
        expect(classifiedBeforeStop + 4).toBeLessThan(ids.length);
        return await until('the run DONE on the second instance', async () => {
          const r = await run(second, runId);
          return r.status === 'RUNNING' ? undefined : r;
        }, 40_000);
      } finally {
        sim.clearScenarios();
        await second.close();
      }
    })();
    expect(left.status).toBe('DONE');
    const counted = Object.values(left.counts).reduce((a, b) => a + b, 0);
    expect(counted).toBe(left.items.length);
    expect(left.items.map((i) => i.merOrderId).sort()).toEqual([...ids].sort());
    expect(left.counts.corrected).toBe(1);
  }, 120_000);
});
