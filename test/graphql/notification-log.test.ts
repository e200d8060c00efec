/**
 * `notifications` (admin): what reached POST /notify/ums, newest first, over HTTP from a whole
 * gateway and its simulator: outcomes, repeat counts, masking of buyer identifiers, keyset
 * pagination, bounds, and a merchant admin's view limited to its merchant.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.js';
import { listNotifications } from '../../src/graphql/notification-reads.js';
import { describeEachDatabase } from '../support/db.js';
import { admin, createPayment, paymentUntil, sharedStore, simPay, startInstance, type SharedStore } from '../payments/operator/support.js';

const LOG = `query($first: Int, $after: String, $outcome: String, $id: ID) {
  notifications(first: $first, after: $after, outcome: $outcome, merOrderId: $id) {
    edges { cursor node { id outcome reason diagnosis merOrderId merchantId receivedCount receivedAt lastReceivedAt verified fields } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Node {
  id: string;
  outcome: string;
  reason: string | null;
  diagnosis: string | null;
  merOrderId: string | null;
  receivedCount: number;
  verified: boolean;
  fields: Record<string, string> | null;
}
type Log = { notifications: { edges: { cursor: string; node: Node }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

describeEachDatabase('the notification log', (kind) => {
  let store: SharedStore;
  let gw: Gateway;

  beforeAll(async () => {
    store = await sharedStore(kind);
    gw = await startInstance(store);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await store?.close();
  });

  it('shows an applied notification with its fields, buyer identifiers masked and no signature', async () => {
    const id = await createPayment(gw, 888);
    await simPay(gw.simulator!.url, id);
    await paymentUntil(gw, id, 'paid', (p) => p.status === 'TRADE_SUCCESS');
    const answer = await admin<Log>(gw, LOG, { id });
    expect(answer.errors).toBeUndefined();
    const node = answer.data!.notifications.edges[0]!.node;
    expect(node).toMatchObject({ outcome: 'APPLIED', merOrderId: id, receivedCount: 1, verified: true });
    expect(node.fields).toBeTruthy();
    expect(node.fields!.sign).toBeUndefined();
    const text = JSON.stringify(node.fields);
    const order = gw.simulator!.order(id) as unknown as { buyerId?: string };
    if (order.buyerId) expect(text).not.toContain(order.buyerId);
    // Bills notifications carry the buyer inside billPayment (a JSON string): masked there too.
    expect(text).toMatch(/\*\*\*/);
  });

  it('counts repeats of a rejected body on one row, REJECTED with its reason; filters by outcome', async () => {
    const body = 'msgType=wx.notify&merOrderId=3194FORGED0001&status=TRADE_SUCCESS&totalAmount=1&sign=00';
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/notify/ums`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect(res.status).toBe(400);
    }
    const answer = await admin<Log>(gw, LOG, { outcome: 'REJECTED', id: '3194FORGED0001' });
    expect(answer.data!.notifications.edges).toHaveLength(1);
    const node = answer.data!.notifications.edges[0]!.node;
    expect(node).toMatchObject({ outcome: 'REJECTED', receivedCount: 3, verified: false });
    expect(node.reason).toBeTruthy();

    const flaggedId = await createPayment(gw, 200);
    await simPay(gw.simulator!.url, flaggedId, { amount: 199 });
    await paymentUntil(gw, flaggedId, 'flagged', (p) => p.needsReview);
    const flagged = await admin<Log>(gw, LOG, { outcome: 'FLAGGED', id: flaggedId });
    expect(flagged.data!.notifications.edges.map((e) => e.node.outcome)).toEqual(['FLAGGED']);
  });

  it('pages newest first with cursors; bounds and bad input are refused; read keys are not admins', async () => {
    const first = await admin<Log>(gw, LOG, { first: 1 });
    const page1 = first.data!.notifications;
    expect(page1.edges).toHaveLength(1);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await admin<Log>(gw, LOG, { first: 1, after: page1.pageInfo.endCursor });
    const next = second.data!.notifications.edges[0]!.node;
    expect(Number(next.id)).toBeLessThan(Number(page1.edges[0]!.node.id));

    for (const variables of [{ first: 101 }, { first: 0 }, { after: 'bm90LWEtY3Vyc29y' }, { outcome: 'applied' }]) {
      const bad = await admin<Log>(gw, LOG, variables);
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer pk_web' },
      body: JSON.stringify({ query: LOG }),
    });
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
  });

  it("a merchant admin's view holds its merchant's notifications only", async () => {
    const all = await listNotifications(gw.database.db, { first: 100 });
    expect(all.rows.length).toBeGreaterThan(0);
    const other = await listNotifications(gw.database.db, { first: 100, merchantId: 'another-merchant' });
    expect(other.rows).toEqual([]);
    const mine = all.rows.find((r) => r.node.merchantId !== null)?.node.merchantId;
    if (mine) {
      const scoped = await listNotifications(gw.database.db, { first: 100, merchantId: mine });
      expect(scoped.rows.every((r) => r.node.merchantId === mine)).toBe(true);
    }
  });
});
