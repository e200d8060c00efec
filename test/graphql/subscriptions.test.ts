/**
 * `paymentStatusChanged` over graphql-ws with a real client: current state first, then each
 * change the ledger commits, filtered by order or merchant; the connection rules of the socket.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newOrder, orderId, pay } from './fixtures.js';
import { collect, gql, sleep, startGateway, wsClient, type TestGateway } from './harness.js';

const SUBSCRIPTION = `subscription Watch($id: ID, $mid: String) {
  paymentStatusChanged(merOrderId: $id, mid: $mid) { status previousStatus source at payment { merOrderId version status mid } }
}`;

interface Change {
  paymentStatusChanged: { status: string; previousStatus: string | null; source: string; at: string; payment: { merOrderId: string; version: number; status: string; mid: string } };
}

describe('paymentStatusChanged', () => {
  let h: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    h = await pgliteDatabase();
    // Many sockets from one address: the per-client cap is tested in limits.test.ts.
    gw = await startGateway({ handle: h, env: { WS_MAX_CONNECTIONS_PER_CLIENT: '0' }, extra: { wsInitTimeoutMs: 300 } });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('emits the current state first, then every change, once', async () => {
    const id = await newOrder(h.db);
    const { client } = wsClient(gw.wsUrl);
    const sub = collect<Change>(client, SUBSCRIPTION, { id });
    await sub.next(1);
    expect(sub.results[0]?.data?.paymentStatusChanged).toMatchObject({ status: 'NEW_ORDER', previousStatus: null, source: 'MUTATION', payment: { merOrderId: id, version: 1 } });

    await pay(h.db, id);
    await sub.next(2);
    expect(sub.results[1]?.data?.paymentStatusChanged).toMatchObject({
      status: 'TRADE_SUCCESS',
      previousStatus: 'NEW_ORDER',
      source: 'NOTIFY',
      payment: { merOrderId: id, version: 2, status: 'TRADE_SUCCESS' },
    });
    await pay(h.db, id); // a duplicate report changes nothing, so nothing is pushed
    await sleep(200);
    expect(sub.results).toHaveLength(2);
    sub.dispose();
    await client.dispose();
  });

  it("carries each change's own version; its payment is the one read at delivery, which may be newer", async () => {
    const id = await newOrder(h.db);
    const { client } = wsClient(gw.wsUrl);
    const query = 'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { version status previousStatus payment { version status } } }';
    const sub = collect<{ paymentStatusChanged: { version: number; status: string; previousStatus: string | null; payment: { version: number; status: string } } }>(client, query, { id });
    await sub.next(1);
    // Two changes committed before the bus reads either (no NOTIFY: only the catch-up finds them).
    await h.db.execute(sql`update payments set status = 'TRADE_SUCCESS', version = 3 where mer_order_id = ${id}`);
    await h.db.execute(sql`insert into payment_events (mer_order_id, source, previous_status, status, version) values
      (${id}, 'SYNC', 'NEW_ORDER', 'WAIT_BUYER_PAY', 2), (${id}, 'SYNC', 'WAIT_BUYER_PAY', 'TRADE_SUCCESS', 3)`);
    await gw.bus.catchUp();
    await sub.next(3);
    expect(sub.results.map((r) => r.data?.paymentStatusChanged)).toEqual([
      { version: 1, status: 'NEW_ORDER', previousStatus: null, payment: { version: 1, status: 'NEW_ORDER' } },
      { version: 2, status: 'WAIT_BUYER_PAY', previousStatus: 'NEW_ORDER', payment: { version: 3, status: 'TRADE_SUCCESS' } },
      { version: 3, status: 'TRADE_SUCCESS', previousStatus: 'WAIT_BUYER_PAY', payment: { version: 3, status: 'TRADE_SUCCESS' } },
    ]);
    sub.dispose();
    await client.dispose();
  });

  it('waits for an order that does not exist yet', async () => {
    const id = orderId();
    const { client } = wsClient(gw.wsUrl);
    const sub = collect<Change>(client, SUBSCRIPTION, { id });
    await sleep(100);
    expect(sub.results).toHaveLength(0);
    await newOrder(h.db, { merOrderId: id });
    await sub.next(1);
    expect(sub.results[0]?.data?.paymentStatusChanged).toMatchObject({ status: 'NEW_ORDER', payment: { merOrderId: id, version: 1 } });
    sub.dispose();
    await client.dispose();
  });

  it("filters by merchant (mid) and by order, and doesn't leak others' changes", async () => {
    const mine = '898111111111111';
    const { client } = wsClient(gw.wsUrl);
    const byMid = collect<Change>(client, SUBSCRIPTION, { mid: mine });
    const other = await newOrder(h.db, { merOrderId: orderId() });
    const byOrder = collect<Change>(client, SUBSCRIPTION, { id: other });
    await byOrder.next(1);
    const a = await newOrder(h.db, { mid: mine });
    await pay(h.db, other);
    await pay(h.db, a, 100, mine);
    await byMid.next(2);
    await byOrder.next(2);
    await sleep(100);
    expect(byMid.results.map((r) => [r.data?.paymentStatusChanged.payment.merOrderId, r.data?.paymentStatusChanged.status])).toEqual([
      [a, 'NEW_ORDER'],
      [a, 'TRADE_SUCCESS'],
    ]);
    expect(byOrder.results.map((r) => r.data?.paymentStatusChanged.status)).toEqual(['NEW_ORDER', 'TRADE_SUCCESS']);
    byMid.dispose();
    byOrder.dispose();
    await client.dispose();
  });

  it('counts open subscriptions and operations in /metrics', async () => {
    const { client } = wsClient(gw.wsUrl);
    const id = await newOrder(h.db);
    const sub = collect<Change>(client, SUBSCRIPTION, { id });
    await sub.next(1);
    await gql(gw.url, 'query ListPayments { payments(first: 1) { edges { cursor } } }');
    const open = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(open).toMatch(/^graphql_subscriptions_open 1$/m);
    expect(open).toMatch(/graphql_operation_duration_seconds_count\{operation="ListPayments",type="query",outcome="success"\} 1/);
    expect(open).toMatch(/graphql_operation_duration_seconds_count\{operation="Watch",type="subscription",outcome="success"\} \d+/);
    sub.dispose();
    await client.dispose();
    await sleep(100);
    const closed = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(closed).toMatch(/^graphql_subscriptions_open 0$/m);
  });

  it('fans one change out to many sockets, once each', async () => {
    const id = await newOrder(h.db);
    const clients = Array.from({ length: 20 }, () => wsClient(gw.wsUrl).client);
    const subs = clients.flatMap((client) => [0, 1, 2].map(() => collect<Change>(client, SUBSCRIPTION, { id })));
    // Generous waits: PGlite shares the event loop, and CI runs suites side by side.
    await Promise.all(subs.map((s) => s.next(1, 20_000)));
    await pay(h.db, id);
    await Promise.all(subs.map((s) => s.next(2, 20_000)));
    await sleep(100);
    for (const s of subs) expect(s.results.map((r) => r.data?.paymentStatusChanged.status)).toEqual(['NEW_ORDER', 'TRADE_SUCCESS']);
    subs.forEach((s) => s.dispose());
    await Promise.all(clients.map((c) => c.dispose()));
  });

  it('applies the same limits over the socket', async () => {
    const { client } = wsClient(gw.wsUrl);
    let inner = 'name';
    for (let i = 0; i < 26; i++) inner = `ofType { ${inner} }`;
    const sub = collect(client, `{ __type(name: "Payment") { ${inner} } }`);
    await sub.settled();
    const errors = sub.error as { message: string; extensions?: { code?: string } }[];
    expect(errors[0]?.message).toMatch(/nested \d+ levels deep/);
    expect(errors[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    await client.dispose();
  });

  it('closes a socket that never sends connection_init (4408)', async () => {
    const socket = new WebSocket(gw.wsUrl, 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => socket.on('close', (c) => resolve(c)));
    expect(code).toBe(4408);
  });

  it('pings an idle connection to keep it alive and detect dead peers', async () => {
    // Its own gateway: a 100 ms pong deadline would cut off busy sockets of the other tests.
    const pinging = await startGateway({ handle: h, extra: { wsKeepAliveMs: 100 } });
    try {
      const socket = new WebSocket(pinging.wsUrl, 'graphql-transport-ws');
      let pings = 0;
      const twoPings = new Promise<void>((resolve) => socket.on('ping', () => (pings += 1) >= 2 && resolve()));
      await new Promise((resolve) => socket.on('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init' }));
      await twoPings;
      expect(socket.readyState).toBe(WebSocket.OPEN);
      socket.close();
    } finally {
      await pinging.close();
    }
  });

  it('refuses a WebSocket speaking another subprotocol', async () => {
    const socket = new WebSocket(gw.wsUrl, 'graphql-ws');
    const code = await new Promise<number>((resolve) => {
      socket.on('close', (c) => resolve(c));
      socket.on('error', () => {});
    });
    expect(code).not.toBe(1000);
  });
});

describe('shutdown', () => {
  it('app.close() ends open subscriptions with 1001 Going Away and stops promptly', async () => {
    const h = await pgliteDatabase();
    const gw = await startGateway({ handle: h });
    try {
      const id = await newOrder(h.db);
      const { client, closed } = wsClient(gw.wsUrl);
      const sub = collect<Change>(client, SUBSCRIPTION, { id });
      await sub.next(1);
      const started = Date.now();
      await gw.close();
      expect((await closed).code).toBe(1001);
      expect(Date.now() - started).toBeLessThan(3000);
      const open = (await gw.metrics.registry.getSingleMetricAsString('graphql_subscriptions_open')).trim().split('\n').at(-1);
      expect(open).toBe('graphql_subscriptions_open 0');
      await client.dispose();
    } finally {
      await h.close();
    }
  });
});
