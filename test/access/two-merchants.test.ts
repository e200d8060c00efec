/**
 * Two merchants on one gateway (CONTRACT.md "API keys and client secrets"), end to end over real
 * HTTP and graphql-ws, with the real payment commands and the UMS simulator notifying back: each
 * merchant's keys see and touch only that merchant's payments, in every operation; another
 * merchant's payment is indistinguishable from one that does not exist; a client secret reads and
 * watches its one payment and nothing else; the events record who acted.
 */
import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { payments } from '../../src/db/schema.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { ADMIN, createKey, newKey, revokeKey } from '../graphql/api-keys-client.js';
import { startFullGateway, type FullGateway } from '../graphql/full-gateway.js';
import { bearer, collect, gql, wsClient } from '../graphql/harness.js';
import { addMerchant } from './merchant-setup.js';

const CREATE = `mutation Create($input: CreatePaymentInput!) {
  createPayment(input: $input) { clientSecret qrCode payment { merOrderId status clientSecret } }
}`;
const READ = `query Read($id: ID!) { payment(merOrderId: $id) { merOrderId status version clientSecret events { merOrderId version source actor } } }`;
const LIST = 'query { payments(first: 100) { edges { node { merOrderId } } } }';
const WATCH = 'subscription Watch($id: ID, $mid: String) { paymentStatusChanged(merOrderId: $id, mid: $mid) { status payment { merOrderId } } }';
const SIMULATE = 'mutation Pay($id: ID!) { simulatePayment(merOrderId: $id) { merOrderId status } }';

interface Created {
  createPayment: { clientSecret: string; qrCode: string | null; payment: { merOrderId: string; status: string; clientSecret: string | null } };
}
interface Read {
  payment: { merOrderId: string; status: string; version: number; clientSecret: string | null; events: { merOrderId: string; version: number; source: string; actor: string | null }[] } | null;
}
interface Watched {
  paymentStatusChanged: { status: string; payment: { merOrderId: string } };
}

const envActor = (key: string) => `env:${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
const codeOf = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code ?? 'OK';

describeEachDatabase('two merchants on one gateway', (kind) => {
  let h: TestDatabase;
  let gw: FullGateway;
  /** Merchant admin keys (text and id), a read-only key of m1, and a pay-only key of m1. */
  const k = { a1: '', a2: '', r1: '', a1Id: '', a2Id: '' };
  let p1 = '';
  let p2 = '';
  let secret1 = '';

  const create = async (key: string, input: Record<string, unknown> = {}, idempotencyKey?: string) => {
    const res = await gql<Created>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 100, ...input } }, {
      ...bearer(key),
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    });
    if (!res.data?.createPayment) throw new Error(`createPayment failed: ${JSON.stringify(res.errors)}`);
    return res.data.createPayment;
  };
  const read = (key: string, id: string) => gql<Read>(gw.url, READ, { id }, bearer(key));
  const listed = async (key: string) => {
    const res = await gql<{ payments: { edges: { node: { merOrderId: string } }[] } }>(gw.url, LIST, {}, bearer(key));
    return res.data?.payments.edges.map((e) => e.node.merOrderId) ?? [];
  };
  const merchantOf = async (merOrderId: string) => (await h.db.select({ m: payments.merchantId }).from(payments).where(eq(payments.merOrderId, merOrderId)))[0]?.m;

  beforeAll(async () => {
    h = await kind.open();
    await addMerchant(h.db, 'm1', 1);
    await addMerchant(h.db, 'm2', 2);
    gw = await startFullGateway(h, { apiKeys: `${ADMIN}:admin` });
    const a1 = await newKey(gw.url, { name: 'm1 admin', merchantId: 'm1', scopes: ['ADMIN'] });
    const a2 = await newKey(gw.url, { name: 'm2 admin', merchantId: 'm2', scopes: ['ADMIN'] });
    const r1 = await newKey(gw.url, { name: 'm1 reader', merchantId: 'm1', scopes: ['READ'] });
    Object.assign(k, { a1: a1.key, a2: a2.key, r1: r1.key, a1Id: a1.id, a2Id: a2.id });
    const c1 = await create(k.a1);
    const c2 = await create(k.a2);
    p1 = c1.payment.merOrderId;
    p2 = c2.payment.merOrderId;
    secret1 = c1.clientSecret;
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('binds keys to merchants: a merchant admin manages its own keys only', async () => {
    expect(k.a1).toBeTruthy();
    // Left out: its own merchant. Another merchant, or one that does not exist: NOT_FOUND alike.
    const own = await createKey(gw.url, { scopes: ['READ'] }, k.a1);
    expect(own.data?.createApiKey.apiKey.merchantId).toBe('m1');
    const other = await createKey(gw.url, { scopes: ['READ'], merchantId: 'm2' }, k.a1);
    const none = await createKey(gw.url, { scopes: ['READ'], merchantId: 'nobody' }, k.a1);
    expect([codeOf(other), codeOf(none)]).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(other.errors?.[0]?.message.replace('m2', 'X')).toBe(none.errors?.[0]?.message.replace('nobody', 'X'));
    // A gateway-wide admin binds keys to any merchant that exists, and only to one that exists.
    expect(codeOf(await createKey(gw.url, { scopes: ['READ'], merchantId: 'nobody' }))).toBe('NOT_FOUND');
    expect(codeOf(await createKey(gw.url, { scopes: ['READ'], merchantId: 'default' }))).toBe('OK');

    const list = (key: string, merchantId?: string) =>
      gql<{ apiKeys: { id: string; merchantId: string | null }[] }>(gw.url, 'query($m: ID) { apiKeys(merchantId: $m) { id merchantId } }', { m: merchantId }, bearer(key));
    const mine = (await list(k.a1)).data?.apiKeys ?? [];
    expect(mine.length).toBeGreaterThanOrEqual(3);
    expect(new Set(mine.map((x) => x.merchantId))).toEqual(new Set(['m1']));
    expect((await list(k.a1, 'm2')).data?.apiKeys).toEqual([]);
    const m2 = (await list(ADMIN, 'm2')).data?.apiKeys ?? [];
    expect(m2.map((x) => x.id)).toEqual([k.a2Id]);
    const every = (await list(ADMIN)).data?.apiKeys ?? [];
    expect(new Set(every.map((x) => x.merchantId))).toEqual(new Set(['m1', 'm2', 'default']));

    // Revoking another merchant's key reads as an unknown id, and leaves it working.
    const revoke = await gql(gw.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: k.a2Id }, bearer(k.a1));
    expect(codeOf(revoke)).toBe('NOT_FOUND');
    expect(codeOf(await read(k.a2, p2))).toBe('OK');
    // A READ key of a merchant manages no keys at all.
    expect(codeOf(await createKey(gw.url, { scopes: ['READ'] }, k.r1))).toBe('FORBIDDEN');
  });

  it('creates for the key’s own merchant, and each key reads only its merchant’s payments', async () => {
    expect(await merchantOf(p1)).toBe('m1');
    expect(await merchantOf(p2)).toBe('m2');
    expect((await read(k.a1, p1)).data?.payment?.merOrderId).toBe(p1);
    expect((await read(k.r1, p1)).data?.payment?.merOrderId).toBe(p1);
    const foreign = await read(k.a1, p2);
    expect(foreign.errors).toBeUndefined();
    expect(foreign.data?.payment).toBeNull();
    expect((await read(k.r1, p2)).data?.payment).toBeNull();
    expect((await read(k.a2, p1)).data?.payment).toBeNull();

    const l1 = await listed(k.a1);
    const l2 = await listed(k.a2);
    expect(l1).toContain(p1);
    expect(l1).not.toContain(p2);
    expect(l2).toContain(p2);
    expect(l2).not.toContain(p1);
    expect(await listed(ADMIN)).toEqual(expect.arrayContaining([p1, p2]));
    // Filtering by the other merchant's mid finds nothing more.
    const byMid = await gql<{ payments: { edges: unknown[] } }>(gw.url, 'query($mid: String) { payments(mid: $mid) { edges { cursor } } }', { mid: 'x' }, bearer(k.a1));
    expect(byMid.data?.payments.edges).toEqual([]);
  });

  it('creates for the merchant a gateway-wide key names; a merchant key names no other', async () => {
    const count = async () => (await h.db.select({ n: sql<number>`count(*)::int` }).from(payments))[0]?.n;
    const before = await count();
    const attempt = (key: string, merchantId: string) =>
      gql<Created>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 100, merchantId } }, bearer(key));
    const foreign = await attempt(k.a1, 'm2');
    const unknown = await attempt(k.a1, 'nobody');
    expect([codeOf(foreign), codeOf(unknown)]).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(foreign.errors?.[0]?.message.replace('m2', 'X')).toBe(unknown.errors?.[0]?.message.replace('nobody', 'X'));
    expect(codeOf(await attempt(ADMIN, 'nobody'))).toBe('NOT_FOUND');
    expect(await count()).toBe(before);
    // Its own id is no other: fine.
    expect(codeOf(await attempt(k.a1, 'm1'))).toBe('OK');
    const forM2 = (await attempt(ADMIN, 'm2')).data?.createPayment.payment.merOrderId ?? '';
    expect(await merchantOf(forM2)).toBe('m2');
    expect((await read(k.a2, forM2)).data?.payment?.merOrderId).toBe(forM2);
    expect((await read(k.a1, forM2)).data?.payment).toBeNull();
  });

  it('refuses every mutation on another merchant’s payment exactly as on one that does not exist, changing nothing', async () => {
    const before = (await read(ADMIN, p2)).data?.payment;
    const missing = '31949999999999999999999';
    const mutations: [string, (id: string) => Record<string, unknown>][] = [
      ['mutation($id: ID!) { closePayment(merOrderId: $id) { status } }', (id) => ({ id })],
      ['mutation($id: ID!) { syncPayment(merOrderId: $id) { status } }', (id) => ({ id })],
      [SIMULATE, (id) => ({ id })],
      ['mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { status } }', (id) => ({ input: { merOrderId: id, refundAmount: 1, refundOrderId: `${id.slice(0, 20)}R1` } })],
    ];
    for (const [query, variables] of mutations) {
      const foreign = await gql(gw.url, query, variables(p2), bearer(k.a1));
      const absent = await gql(gw.url, query, variables(missing), bearer(k.a1));
      expect(codeOf(foreign), query).toBe('NOT_FOUND');
      expect(foreign.errors?.[0]?.message.replace(p2, 'X'), query).toBe(absent.errors?.[0]?.message.replace(missing, 'X'));
    }
    expect((await read(ADMIN, p2)).data?.payment).toEqual(before);
  });

  it('keeps callUms to gateway-wide admins', async () => {
    const call = 'mutation { callUms(service: "netpay/query", body: {}) }';
    const res = await gql(gw.url, call, {}, bearer(k.a1));
    expect(codeOf(res)).toBe('FORBIDDEN');
    expect(codeOf(await gql(gw.url, call, {}, bearer(k.r1)))).toBe('FORBIDDEN');
  });

  it('never streams another merchant’s change: by merOrderId, by mid, or watching everything', async () => {
    const ws1 = wsClient(gw.wsUrl, { authorization: `Bearer ${k.a1}` });
    const ws2 = wsClient(gw.wsUrl, { authorization: `Bearer ${k.a2}` });
    const all1 = collect<Watched>(ws1.client, WATCH);
    const all2 = collect<Watched>(ws2.client, WATCH);
    const foreignById = collect<Watched>(ws1.client, WATCH, { id: p2 });
    const foreignByMid = collect<Watched>(ws1.client, WATCH, { mid: '898201612345678' });
    const wsAll = wsClient(gw.wsUrl, { authorization: `Bearer ${ADMIN}` });
    const everyone = collect<Watched>(wsAll.client, WATCH);
    try {
      // Subscribed once each has answered nothing else: the next message is the test's own change.
      const own = collect<Watched>(ws1.client, WATCH, { id: p1 });
      const own2 = collect<Watched>(ws2.client, WATCH, { id: p2 });
      const ownAll = collect<Watched>(wsAll.client, WATCH, { id: p1 });
      await Promise.all([own.next(1), own2.next(1), ownAll.next(1)]);
      own2.dispose();
      ownAll.dispose();
      const q2 = (await create(k.a2)).payment.merOrderId;
      expect(codeOf(await gql(gw.url, SIMULATE, { id: q2 }, bearer(k.a2)))).toBe('OK');
      await all2.next(1);
      await waitFor(() => all2.results.some((r) => r.data?.paymentStatusChanged.payment.merOrderId === q2 && r.data.paymentStatusChanged.status === 'TRADE_SUCCESS'));
      const q1 = (await create(k.a1)).payment.merOrderId;
      expect(codeOf(await gql(gw.url, SIMULATE, { id: q1 }, bearer(k.a1)))).toBe('OK');
      await waitFor(() => all1.results.some((r) => r.data?.paymentStatusChanged.payment.merOrderId === q1 && r.data.paymentStatusChanged.status === 'TRADE_SUCCESS'));
      // By now m2's earlier changes would have reached m1's streams (the bus keeps commit order).
      const seen1 = new Set(all1.results.map((r) => r.data?.paymentStatusChanged.payment.merOrderId));
      const seen2 = new Set(all2.results.map((r) => r.data?.paymentStatusChanged.payment.merOrderId));
      expect(seen1).toEqual(new Set([q1]));
      expect(seen2).toEqual(new Set([q2]));
      expect(foreignById.results).toEqual([]);
      // A gateway-wide key watching everything hears both merchants.
      await waitFor(() => everyone.results.some((r) => r.data?.paymentStatusChanged.payment.merOrderId === q1 && r.data.paymentStatusChanged.status === 'TRADE_SUCCESS'));
      expect(new Set(everyone.results.map((r) => r.data?.paymentStatusChanged.payment.merOrderId))).toEqual(new Set([q1, q2]));
      expect(foreignByMid.results.map((r) => r.data?.paymentStatusChanged.payment.merOrderId).every((id) => id === q1)).toBe(true);
      own.dispose();
    } finally {
      for (const sub of [all1, all2, foreignById, foreignByMid, everyone]) sub.dispose();
      await wsAll.client.dispose();
      await ws1.client.dispose();
      await ws2.client.dispose();
    }
  });

  it('scopes Idempotency-Keys per merchant: one key used by two merchants never collides', async () => {
    const key = `order-${Date.now()}`;
    const c1 = await create(k.a1, { totalAmount: 321 }, key);
    const c2 = await create(k.a2, { totalAmount: 321 }, key);
    expect(c1.payment.merOrderId).not.toBe(c2.payment.merOrderId);
    expect(await merchantOf(c1.payment.merOrderId)).toBe('m1');
    expect(await merchantOf(c2.payment.merOrderId)).toBe('m2');
    // Each merchant's replay answers its own first answer, client secret included.
    const again = await create(k.a1, { totalAmount: 321 }, key);
    expect(again.payment.merOrderId).toBe(c1.payment.merOrderId);
    expect(again.clientSecret).toBe(c1.clientSecret);
  });

  it('shows Payment.clientSecret to its merchant’s PAY keys and gateway-wide keys only', async () => {
    expect(secret1).toMatch(new RegExp(`^${p1}_secret_`));
    expect((await read(k.a1, p1)).data?.payment?.clientSecret).toBe(secret1);
    expect((await read(ADMIN, p1)).data?.payment?.clientSecret).toBe(secret1);
    expect((await read(k.r1, p1)).data?.payment?.clientSecret).toBeNull();
    expect((await read(secret1, p1)).data?.payment?.clientSecret).toBeNull();
  });

  it('lets a client secret read and watch its one payment, and nothing else', async () => {
    const own = await gql<Read>(gw.url, 'query($id: ID!) { payment(merOrderId: $id) { merOrderId status } }', { id: p1 }, bearer(secret1));
    expect(own.errors).toBeUndefined();
    expect(own.data?.payment?.merOrderId).toBe(p1);
    // Another payment, even of its own merchant, reads as none.
    const sibling = (await create(k.a1)).payment.merOrderId;
    for (const id of [p2, sibling]) {
      const other = await gql<Read>(gw.url, 'query($id: ID!) { payment(merOrderId: $id) { merOrderId } }', { id }, bearer(secret1));
      expect(other.data?.payment).toBeNull();
    }
    const forbidden = [
      LIST,
      'query { apiKeys { id } }',
      'mutation { createPayment(input: { channel: QR_CODE, totalAmount: 1 }) { clientSecret } }',
      `mutation { closePayment(merOrderId: "${p1}") { status } }`,
      `mutation { simulatePayment(merOrderId: "${p1}") { status } }`,
    ];
    for (const query of forbidden) expect(codeOf(await gql(gw.url, query, {}, bearer(secret1))), query).toBe('FORBIDDEN');
    // Raw UMS reports are for admins.
    const payload = await gql(gw.url, 'query($id: ID!) { payment(merOrderId: $id) { events { payload } } }', { id: p1 }, bearer(secret1));
    expect(codeOf(payload)).toBe('FORBIDDEN');
    // A forged or altered secret is no bearer at all.
    const forged = `${p2}${secret1.slice(p1.length)}`;
    expect(codeOf(await gql(gw.url, LIST, {}, bearer(forged)))).toBe('UNAUTHENTICATED');

    const ws = wsClient(gw.wsUrl, { authorization: `Bearer ${secret1}` });
    try {
      const watched = collect<Watched>(ws.client, WATCH, { id: p1 });
      await watched.next(1);
      expect(watched.results[0]?.data?.paymentStatusChanged.payment.merOrderId).toBe(p1);
      const everything = collect<Watched>(ws.client, WATCH);
      await everything.settled();
      // graphql-ws delivers a failed subscribe as one result carrying the errors, then completes.
      const errors = (everything.error as { extensions?: { code?: string } }[] | undefined) ?? everything.results[0]?.errors;
      expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const foreign = collect<Watched>(ws.client, WATCH, { id: p2 });
      // The payment is paid: the secret's stream hears it, the foreign one nothing.
      expect(codeOf(await gql(gw.url, SIMULATE, { id: p1 }, bearer(k.a1)))).toBe('OK');
      await waitFor(() => watched.results.some((r) => r.data?.paymentStatusChanged.status === 'TRADE_SUCCESS'));
      expect(foreign.results).toEqual([]);
      watched.dispose();
      foreign.dispose();
    } finally {
      await ws.client.dispose();
    }
  });

  it('ends a client secret 24 h after its payment is final (not while it is open)', async () => {
    const open = await create(k.a1);
    const closed = await create(k.a1);
    const dayAgo = sql`now() - interval '25 hours'`;
    await h.db.update(payments).set({ updatedAt: dayAgo }).where(eq(payments.merOrderId, open.payment.merOrderId));
    await h.db.update(payments).set({ status: 'TRADE_CLOSED', updatedAt: dayAgo }).where(eq(payments.merOrderId, closed.payment.merOrderId));
    expect((await read(open.clientSecret, open.payment.merOrderId)).data?.payment?.merOrderId).toBe(open.payment.merOrderId);
    expect(codeOf(await read(closed.clientSecret, closed.payment.merOrderId))).toBe('UNAUTHENTICATED');
    const ws = wsClient(gw.wsUrl, { authorization: `Bearer ${closed.clientSecret}` });
    expect((await ws.closed).code).toBe(4403);
  });

  it('closes a client secret’s open WebSocket (4403) when the secret ends', async () => {
    const ending = await create(k.a1);
    const id = ending.payment.merOrderId;
    await h.db
      .update(payments)
      .set({ status: 'TRADE_CLOSED', updatedAt: sql`now() - interval '24 hours' + interval '2 seconds'` })
      .where(eq(payments.merOrderId, id));
    const ws = wsClient(gw.wsUrl, { authorization: `Bearer ${ending.clientSecret}` });
    const sub = collect<Watched>(ws.client, WATCH, { id });
    await sub.next(1);
    expect(sub.results[0]?.data?.paymentStatusChanged.payment.merOrderId).toBe(id);
    const started = Date.now();
    expect((await ws.closed).code).toBe(4403);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('records who acted on each event: env key, run-time key, system for notifications', async () => {
    const byEnv = (await create(ADMIN)).payment.merOrderId;
    const events = async (id: string) => (await read(ADMIN, id)).data?.payment?.events ?? [];
    expect((await events(byEnv))[0]).toEqual({ merOrderId: byEnv, version: 1, source: 'MUTATION', actor: envActor(ADMIN) });
    const byKey = (await create(k.a1)).payment.merOrderId;
    expect((await events(byKey))[0]).toMatchObject({ source: 'MUTATION', actor: k.a1Id });
    // The buyer pays at the simulator, which notifies the gateway: nobody's key acted.
    await gw.sim.pay(byKey, { outcome: 'TRADE_SUCCESS', notify: true });
    let notified: { actor: string | null } | undefined;
    await waitForAsync(async () => (notified = (await events(byKey)).find((e) => e.source === 'NOTIFY')) !== undefined);
    expect(notified?.actor).toBe('system');
    const closed = (await create(k.a2)).payment.merOrderId;
    expect(codeOf(await gql(gw.url, 'mutation($id: ID!) { closePayment(merOrderId: $id) { status } }', { id: closed }, bearer(k.a2)))).toBe('OK');
    expect((await events(closed)).at(-1)).toMatchObject({ source: 'MUTATION', actor: k.a2Id });
  });

  it('a revoked merchant key stops working', async () => {
    const { id, key } = await newKey(gw.url, { merchantId: 'm2', scopes: ['READ'] });
    expect(codeOf(await read(key, p2))).toBe('OK');
    expect(codeOf(await revokeKey(gw.url, id))).toBe('OK');
    expect(codeOf(await read(key, p2))).toBe('UNAUTHENTICATED');
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitForAsync(predicate: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
