/**
 * What the WebSocket runs: subscriptions only (queries and mutations go to HTTP POST /graphql,
 * where Idempotency-Key, the HTTP limits and shutdown draining apply), with the same error codes
 * as HTTP and, in production, without "Did you mean …?" hints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentCommands } from '../../src/payments/commands-api.js';
import { DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION } from '../../src/graphql/plugin.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newOrder, pay } from './fixtures.js';
import { bearer, collect, gql, noCommands, startGateway, wsClient, type TestGateway } from './harness.js';

const KEYS = 'k_read:read,k_pay:pay';

type WsErrors = { message: string; extensions?: { code?: string } }[];

describe('operations over the WebSocket', () => {
  let h: TestDatabase;
  let dev: TestGateway;
  let prod: TestGateway;
  const created: string[] = [];
  const commands: PaymentCommands = {
    ...noCommands,
    create: (input) => {
      created.push(String(input.totalAmount));
      return Promise.reject(new Error('must not run over the socket'));
    },
  };

  beforeAll(async () => {
    h = await pgliteDatabase();
    dev = await startGateway({ handle: h, apiKeys: KEYS, commands });
    prod = await startGateway({ handle: h, apiKeys: KEYS, commands, env: { NODE_ENV: 'production' } });
  });
  afterAll(async () => {
    await dev?.close();
    await prod?.close();
    await h?.close();
  });

  it('refuses a mutation with BAD_REQUEST and runs nothing', async () => {
    const { client } = wsClient(dev.wsUrl, { authorization: 'Bearer k_pay' });
    const sub = collect(client, 'mutation { createPayment(input: { channel: QR_CODE, totalAmount: 1 }) { payment { merOrderId } } }');
    await sub.settled();
    const errors = sub.error as WsErrors;
    expect(errors).toHaveLength(1);
    expect(errors[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(errors[0]?.message).toMatch(/subscriptions.*HTTP POST \/graphql/);
    expect(sub.results).toEqual([]);
    expect(created).toEqual([]);
    await client.dispose();
  });

  it('refuses a query with BAD_REQUEST, and still serves a subscription on the same socket', async () => {
    const id = await newOrder(h.db);
    const { client } = wsClient(dev.wsUrl, { authorization: 'Bearer k_read' });
    const query = collect(client, `{ payment(merOrderId: "${id}") { status } }`);
    await query.settled();
    expect((query.error as WsErrors)[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(query.results).toEqual([]);
    const sub = collect<{ paymentStatusChanged: { status: string } }>(client, 'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { status } }', { id });
    await sub.next(1);
    expect(sub.results[0]?.data?.paymentStatusChanged.status).toBe('NEW_ORDER');
    sub.dispose();
    await client.dispose();
  });

  it('reports a validation error as GRAPHQL_VALIDATION_FAILED, and a syntax error as GRAPHQL_PARSE_FAILED', async () => {
    const { client } = wsClient(dev.wsUrl, { authorization: 'Bearer k_read' });
    const invalid = collect(client, 'subscription { paymentStatusChangd { status } }');
    await invalid.settled();
    const errors = invalid.error as WsErrors;
    expect(errors[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // Outside production the hint stays, as over HTTP.
    expect(errors[0]?.message).toMatch(/Did you mean "paymentStatusChanged"\?/);
    const broken = collect(client, 'subscription { paymentStatusChanged { status }');
    await broken.settled();
    expect((broken.error as WsErrors)[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    await client.dispose();
  });

  it('drops "Did you mean …?" hints in production, as HTTP does', async () => {
    const { client } = wsClient(prod.wsUrl, { authorization: 'Bearer k_read' });
    const invalid = collect(client, 'subscription { paymentStatusChangd { status } }');
    await invalid.settled();
    const errors = invalid.error as WsErrors;
    expect(errors[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(errors[0]?.message).toBe('Cannot query field "paymentStatusChangd" on type "Subscription".');
    const http = await gql(prod.url, 'subscription { paymentStatusChangd { status } }', {}, bearer('k_read'));
    expect(http.errors?.[0]?.message).toBe(errors[0]?.message);
    await client.dispose();
  });
});

describe('subscriptions per connection', () => {
  const WATCH = 'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { status } }';
  const BY_MERCHANT = 'subscription { paymentStatusChanged(mid: "898310000000001") { status } }';
  let h: TestDatabase;
  let capped: TestGateway;
  let plain: TestGateway;

  beforeAll(async () => {
    h = await pgliteDatabase();
    capped = await startGateway({ handle: h, apiKeys: KEYS, extra: { wsMaxSubscriptionsPerConnection: 3 } });
    plain = await startGateway({ handle: h, apiKeys: KEYS });
  });
  afterAll(async () => {
    await capped?.close();
    await plain?.close();
    await h?.close();
  });

  it('refuses one more than the cap with RATE_LIMITED; the open ones keep running, and a freed slot can be reused', async () => {
    const ids = [await newOrder(h.db), await newOrder(h.db), await newOrder(h.db), await newOrder(h.db)];
    const { client } = wsClient(capped.wsUrl, { authorization: 'Bearer k_read' });
    const open = ids.slice(0, 3).map((id) => collect<{ paymentStatusChanged: { status: string } }>(client, WATCH, { id }));
    await Promise.all(open.map((s) => s.next(1)));
    const refused = collect(client, WATCH, { id: ids[3] });
    await refused.settled();
    const errors = refused.error as WsErrors;
    expect(errors[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(errors[0]?.message).toMatch(/At most 3 subscriptions/);

    // Another socket has its own allowance.
    const other = wsClient(capped.wsUrl, { authorization: 'Bearer k_read' });
    const elsewhere = collect(other.client, WATCH, { id: ids[3] });
    await elsewhere.next(1);

    await pay(h.db, ids[0] as string);
    await open[0]?.next(2);
    expect(open[0]?.results.map((r) => r.data?.paymentStatusChanged.status)).toEqual(['NEW_ORDER', 'TRADE_SUCCESS']);

    open[1]?.dispose();
    const again = collect(client, WATCH, { id: ids[3] });
    await again.next(1);
    expect(again.error).toBeUndefined();
    await client.dispose();
    await other.client.dispose();
  });

  it(`defaults to ${DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION} per connection`, async () => {
    expect(DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION).toBe(100);
    const { client } = wsClient(plain.wsUrl, { authorization: 'Bearer k_read' });
    const open = Array.from({ length: DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION }, () => collect(client, BY_MERCHANT));
    const refused = collect(client, BY_MERCHANT);
    await refused.settled();
    expect((refused.error as WsErrors)[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(open.filter((s) => s.error !== undefined)).toHaveLength(0);
    await client.dispose();
  });
});
