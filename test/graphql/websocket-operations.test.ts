/**
 * What the WebSocket runs: subscriptions only (queries and mutations go to HTTP POST /graphql,
 * where Idempotency-Key, the HTTP limits and shutdown draining apply), with the same error codes
 * as HTTP and, in production, without "Did you mean …?" hints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentCommands } from '../../src/payments/commands-api.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newOrder } from './fixtures.js';
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
