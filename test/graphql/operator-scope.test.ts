/**
 * A merchant admin's view of the operator workflows: its own merchant's runs and notifications
 * only, and no reconcile for another merchant. Merchant-bound keys are issued by another part of
 * the gateway; here the resolvers run against a caller bound to a merchant, through the real
 * schema and database.
 */
import 'reflect-metadata';
import { graphql, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Caller } from '../../src/graphql/auth.js';
import { createContext, type GraphQLServices, type OperatorServices } from '../../src/graphql/context.js';
import { PaymentReads } from '../../src/graphql/data.js';
import { buildGatewaySchema } from '../../src/graphql/schema.js';
import { merchants, notifications } from '../../src/db/schema.js';
import { createRun } from '../../src/payments/reconcile/runs.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';

const merchantAdmin: Caller = { kind: 'key', id: 'key_m1', scopes: new Set(['admin']), actor: 'key_m1', merchantId: 'm1' };
const gatewayAdmin: Caller = { kind: 'key', id: 'key#1', scopes: new Set(['admin']), actor: 'env:00000000', merchantId: undefined };

describeEachDatabase('operator workflows for a merchant admin', (kind) => {
  let db: TestDatabase;
  let schema: GraphQLSchema;
  const reconciled: { merchantId: string }[] = [];
  const resolved: { merchantId?: string | undefined; actor: string }[] = [];

  beforeAll(async () => {
    db = await kind.open();
    schema = await buildGatewaySchema({ simulatorMode: false });
    for (const merchantId of ['m1', 'm2']) {
      await db.db.insert(merchants).values({ id: merchantId, mid: `mid-${merchantId}`, tid: 't1', sourceId: '1A2B', appId: 'app', secrets: 'sealed' });
      await createRun(db.db, { date: '2026-12-01', merchantId, trigger: 'manual', actor: 'test', owner: 'nobody', leaseMs: 60_000 });
      await db.db.insert(notifications).values({
        rawBody: `merOrderId=3194${merchantId.toUpperCase()}`,
        bodyHash: `hash-${merchantId}`,
        contentType: 'application/x-www-form-urlencoded',
        verified: true,
        merchantId,
        merOrderId: `3194${merchantId.toUpperCase()}`,
        outcome: 'applied',
      });
    }
  }, 60_000);
  afterAll(() => db?.close());

  function run(caller: Caller, source: string) {
    const operator: OperatorServices = {
      resolveReview: (input) => {
        resolved.push(input);
        return Promise.reject(new Error('recorded'));
      },
      reconcile: async (request) => {
        reconciled.push(request);
        const row = await createRun(db.db, { ...request, trigger: 'manual', owner: 'nobody', leaseMs: 60_000 });
        return row!;
      },
    };
    const services = { db: db.db, reads: new PaymentReads(db.db), operator } as unknown as GraphQLServices;
    return graphql({ schema, source, contextValue: createContext(services, caller) });
  }

  it('lists its own runs and notifications only', async () => {
    const runs = await run(merchantAdmin, '{ reconciliationRuns { merchantId } notifications { edges { node { merchantId merOrderId } } } }');
    expect(runs.errors).toBeUndefined();
    const data = runs.data as { reconciliationRuns: { merchantId: string }[]; notifications: { edges: { node: { merchantId: string } }[] } };
    expect(data.reconciliationRuns.map((r) => r.merchantId)).toEqual(['m1']);
    expect(data.notifications.edges.map((e) => e.node.merchantId)).toEqual(['m1']);
    const all = (await run(gatewayAdmin, '{ reconciliationRuns { merchantId } }')).data as { reconciliationRuns: { merchantId: string }[] };
    expect(all.reconciliationRuns.map((r) => r.merchantId).sort()).toEqual(['m1', 'm2']);
  });

  it("reads another merchant's run as null, and may not reconcile for another merchant", async () => {
    const ids = (await run(gatewayAdmin, '{ reconciliationRuns { id merchantId } }')).data as { reconciliationRuns: { id: string; merchantId: string }[] };
    const other = ids.reconciliationRuns.find((r) => r.merchantId === 'm2')!;
    const read = await run(merchantAdmin, `{ reconciliationRun(id: "${other.id}") { id } }`);
    expect(read.data).toEqual({ reconciliationRun: null });
    const forbidden = await run(merchantAdmin, 'mutation { reconcile(date: "2026-12-01", merchantId: "m2") { id } }');
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = await run(merchantAdmin, 'mutation { reconcile(date: "2026-12-01") { merchantId status } }');
    expect(own.errors).toBeUndefined();
    expect(own.data).toEqual({ reconcile: { merchantId: 'm1', status: 'RUNNING' } });
    expect(reconciled.at(-1)).toMatchObject({ merchantId: 'm1', actor: 'key_m1' });
  });

  it('resolves reviews for its own merchant only (another merchant’s payment is NOT_FOUND in the ledger)', async () => {
    await run(merchantAdmin, 'mutation { resolveReview(merOrderId: "3194M2", resolution: DISMISS, note: "x") { merOrderId } }');
    expect(resolved.at(-1)).toMatchObject({ merchantId: 'm1', actor: 'key_m1' });
    await run(gatewayAdmin, 'mutation { resolveReview(merOrderId: "3194M2", resolution: DISMISS, note: "x") { merOrderId } }');
    expect(resolved.at(-1)).toMatchObject({ merchantId: undefined, actor: 'env:00000000' });
  });
});
