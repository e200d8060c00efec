/**
 * Hostile input and limits on callers (CONTRACT.md "Modes, limits and hostile input"), over real
 * HTTP and real WebSockets: documents that cost more to answer than their size suggests, the body
 * and token limits, mutations per document, operations per minute per client (each root field
 * counts, subscribe messages too), and open WebSockets per client.
 */
import { readFileSync } from 'node:fs';
import { specifiedRules } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_LIMITS, GRAPHQL_BODY_LIMIT, parseOptions, queryLimitsRule } from '../../src/graphql/limits.js';
import { buildGatewaySchema } from '../../src/graphql/schema.js';
import { OperationAdmission } from '../../src/graphql/ws-admission.js';
import type { PaymentCommands } from '../../src/payments/commands-api.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { bearer, collect, gql, noCommands, startGateway, wsClient, type TestGateway } from './harness.js';

type WsErrors = { message: string; extensions?: { code?: string } }[];

/**
 * An anonymous document whose string literal repeats " Did you mean" `times` times: the literal is
 * printed into the validation error, where a regex cutting out "Did you mean …?" hints takes time
 * that grows with the square of its length.
 */
const crafted = (times: number) => `{ payments(first: "${' Did you mean'.repeat(times)}") { edges { cursor } } }`;

/** Milliseconds `fn` took. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

describe('hostile documents (production)', () => {
  let h: TestDatabase;
  let prod: TestGateway;
  const synced: string[] = [];
  const commands: PaymentCommands = { ...noCommands, sync: (id) => (synced.push(id), Promise.reject(new Error('must not run'))) };

  beforeAll(async () => {
    h = await pgliteDatabase();
    prod = await startGateway({ handle: h, commands, env: { NODE_ENV: 'production', RATE_LIMIT_PER_MINUTE: '0' } });
  });
  afterAll(async () => {
    await prod?.close();
    await h?.close();
  });

  it('answers the largest crafted document the body limit admits promptly, without hints', async () => {
    const times = Math.floor((GRAPHQL_BODY_LIMIT - 200) / 13);
    const { ms, value: res } = await timed(() => gql(prod.url, crafted(times)));
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).toMatch(/^Int cannot represent non-integer value: " Did you mean/);
    expect(ms).toBeLessThan(3000);
  });

  it('refuses a 1 MiB crafted document at the body limit, at once', async () => {
    const { ms, value: res } = await timed(() => gql(prod.url, crafted(80_000)));
    expect(res.status).toBe(413);
    expect(ms).toBeLessThan(3000);
  });

  it('removes hints from WebSocket validation errors in linear time, whatever the length', async () => {
    const schema = await buildGatewaySchema({ simulatorMode: true });
    const admission = new OperationAdmission({ schema, rules: [...specifiedRules, queryLimitsRule()], parseOptions: parseOptions(DEFAULT_LIMITS), schemaDetails: false });
    // The object literal is printed into "String cannot represent a non string value: …". With a
    // regex, 16,000 repeats (208 KB) took seconds; this is five times as long.
    const query = `subscription { paymentStatusChanged(mid: { x: "${' Did you mean'.repeat(80_000)}" }) { status } }`;
    const started = performance.now();
    const errors = admission.admit({ query }) as readonly { message: string; extensions: { code?: unknown } }[];
    expect(performance.now() - started).toBeLessThan(3000);
    expect(errors[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(errors[0]?.message).toMatch(/^String cannot represent a non string value: \{ ?x: " Did you mean/);
  });

  it('refuses more tokens than the limit, and brackets nested deeper than the limit, before parsing', async () => {
    const tooMany = await gql(prod.url, `{ ${'__typename '.repeat(DEFAULT_LIMITS.maxTokens + 10)}}`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(tooMany.errors?.[0]?.message).toMatch(new RegExp(`more than ${DEFAULT_LIMITS.maxTokens} tokens`));
    // Within the token limit, nested ~990 deep: graphql-js's recursive parser overflows at ~1,700
    // (sooner on a deeper stack), so nesting has its own, much lower limit.
    const depth = Math.floor((DEFAULT_LIMITS.maxTokens - 20) / 2);
    const nested = (n: number) => `{ payments(first: ${'['.repeat(n)}1${']'.repeat(n)}) { edges { cursor } } }`;
    const { ms, value: deep } = await timed(() => gql(prod.url, nested(depth)));
    expect(deep.status).toBe(400);
    expect(deep.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(deep.errors?.[0]?.message).toMatch(/nests brackets more than 64 deep/);
    expect(ms).toBeLessThan(3000);
    // The same over the WebSocket.
    const { client } = wsClient(prod.wsUrl);
    const sub = collect(client, `subscription { paymentStatusChanged(mid: ${'['.repeat(depth)}1${']'.repeat(depth)}) { status } }`);
    await sub.settled();
    expect((sub.error as WsErrors)[0]?.message).toMatch(/nests brackets more than 64 deep/);
    await client.dispose();
    // Within the limit, the document is parsed and validated as usual.
    const shallow = await gql(prod.url, nested(50));
    expect(shallow.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('bounds the pairwise field comparison of validation with the token limit', async () => {
    // Same-named fields are compared pair by pair: work grows with the square of their number.
    const repeated = (n: number) => `{ ${'payments { edges { node { status } } } '.repeat(n)}}`;
    const fill = Math.floor(GRAPHQL_BODY_LIMIT / 40) - 10;
    const { ms: fullMs, value: full } = await timed(() => gql(prod.url, repeated(fill)));
    expect(full.status).toBe(400);
    expect(full.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(fullMs).toBeLessThan(3000);
    // The most that fits in the token limit (10 tokens each) is validated and run, promptly.
    const { ms, value: most } = await timed(() => gql(prod.url, repeated(Math.floor((DEFAULT_LIMITS.maxTokens - 2) / 10))));
    expect(most.status).toBe(200);
    expect(ms).toBeLessThan(3000);
  });

  it('admits every operation of the typed client, with room to spare', async () => {
    // The whole file (every operation and its fragment) is under a tenth of the limit.
    const operations = readFileSync(new URL('../../src/graphql/client/operations.graphql', import.meta.url), 'utf8');
    expect(operations.length * 10).toBeLessThan(GRAPHQL_BODY_LIMIT);
    const res = await fetch(prod.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: operations, operationName: 'GetPayment', variables: { merOrderId: 'x' } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { payment: null } });
  });

  it('answers a chain of fragments that each spread the next twice at once (no exponential walk)', async () => {
    // F30 spreads F29 twice, …, F1 spreads an unknown fragment: 2^30 spreads, no field at all.
    const chain = (type: string, end: string) =>
      Array.from({ length: 30 }, (_, i) => `fragment F${i + 1} on ${type} { ${i === 0 ? end : `...F${i} ...F${i}`} }`).join(' ');
    for (const document of [`query { ...F30 } ${chain('Query', '...Missing')}`, `mutation { ...F30 } ${chain('Mutation', '...F1')}`]) {
      const { ms, value: res } = await timed(() => gql(prod.url, document));
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(ms).toBeLessThan(3000);
    }
  });

  it('refuses more than 10 mutation fields in one document, running none', async () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `m${i}: syncPayment(merOrderId: "x${i}") { merOrderId }`).join(' ');
    const res = await gql(prod.url, `mutation { ${fields(11)} }`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).toMatch(/more than 10 mutation fields/);
    // Spread through a fragment, they count the same.
    const spread = await gql(prod.url, `mutation { ...M } fragment M on Mutation { ${fields(11)} }`);
    expect(spread.errors?.[0]?.message).toMatch(/more than 10 mutation fields/);
    expect(synced).toEqual([]);
    // Ten are run (serially; the first failure of a non-null field stops the rest).
    const ten = await gql(prod.url, `mutation { ${fields(10)} }`);
    expect(ten.status).toBe(200);
    expect(ten.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(synced).toEqual(['x0']);
  });

  it('leaves hints out of variable errors too, which graphql-js writes during execution', async () => {
    const status = await gql(prod.url, 'query($s: PaymentStatus) { payments(status: $s) { edges { cursor } } }', { s: 'TRADE_SUCCES' });
    expect(status.errors?.[0]?.message).toBe('Variable "$s" got invalid value "TRADE_SUCCES"; Value "TRADE_SUCCES" does not exist in "PaymentStatus" enum.');
    const field = await gql(prod.url, 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { qrCode } }', { i: { channel: 'QR_CODE', totalAmount: 1, descriptio: 'x' } });
    expect(field.errors?.[0]?.message).toMatch(/Field "descriptio" is not defined by type "CreatePaymentInput"\.$/);
    // A value the client sent that merely looks like a hint is left as it is, and in linear time.
    const crafty = await gql(prod.url, 'query($s: PaymentStatus) { payments(status: $s) { edges { cursor } } }', { s: `x${' Did you mean'.repeat(4000)}?` });
    expect(crafty.errors?.[0]?.message).toMatch(/ does not exist in "PaymentStatus" enum\.$/);
  });

  it('has introspection off over HTTP and WebSocket when Sandbox is off, even outside production', async () => {
    const off = await startGateway({ handle: h, env: { GRAPHQL_SANDBOX: 'false' } });
    try {
      const http = await gql(off.url, '{ __schema { queryType { name } } }');
      expect(http.status).toBe(400);
      expect(http.errors?.[0]?.message).toMatch(/introspection/i);
      const { client } = wsClient(off.wsUrl);
      const sub = collect(client, 'subscription { __schema { queryType { name } } }');
      await sub.settled();
      expect((sub.error as WsErrors).map((e) => e.message).join(' ')).toMatch(/introspection/i);
      await client.dispose();
    } finally {
      await off.close();
    }
  });
});

describe('operations per minute', () => {
  let h: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    h = await pgliteDatabase();
    gw = await startGateway({ handle: h, apiKeys: 'k_a:read,k_b:read,k_c:read,k_d:read,k_ws:read', env: { RATE_LIMIT_PER_MINUTE: '5' } });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('refuses the sixth operation of a key with 429, Retry-After and RATE_LIMITED; other keys keep theirs', async () => {
    for (let i = 0; i < 5; i++) expect((await gql(gw.url, '{ __typename }', {}, bearer('k_a'))).status).toBe(200);
    const refused = await gql(gw.url, '{ __typename }', {}, bearer('k_a'));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(refused.errors?.[0]?.message).toMatch(/at most 5 a minute/);
    expect((await gql(gw.url, '{ __typename }', {}, bearer('k_b'))).status).toBe(200);
  });

  it('counts each root field: six aliased fields are six', async () => {
    const three = '{ a: __typename b: __typename c: __typename }';
    expect((await gql(gw.url, three, {}, bearer('k_c'))).status).toBe(200);
    const again = await gql(gw.url, three, {}, bearer('k_c'));
    expect(again.status).toBe(429);
    expect(again.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(again.data).toBeUndefined();
  });

  it('charges each request at the door, before parsing: documents that never validate count too', async () => {
    for (let i = 0; i < 5; i++) expect((await gql(gw.url, '{ nope(', {}, bearer('k_d'))).status).toBe(400);
    const refused = await gql(gw.url, '{ __typename }', {}, bearer('k_d'));
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('counts callers without a key by address', async () => {
    for (let i = 0; i < 5; i++) expect((await gql(gw.url, '{ __typename }')).status).toBe(200);
    expect((await gql(gw.url, '{ __typename }')).status).toBe(429);
  });

  it('counts subscribe messages over the WebSocket', async () => {
    const { client } = wsClient(gw.wsUrl, { authorization: 'Bearer k_ws' });
    const subs = Array.from({ length: 5 }, () => collect(client, 'subscription { paymentStatusChanged(mid: "898201612345678") { status } }'));
    const sixth = collect(client, 'subscription { paymentStatusChanged(mid: "898201612345678") { status } }');
    await sixth.settled();
    expect((sixth.error as WsErrors)[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(subs.filter((s) => s.error !== undefined)).toHaveLength(0);
    // The same key over HTTP has used its minute too.
    expect((await gql(gw.url, '{ __typename }', {}, bearer('k_ws'))).status).toBe(429);
    await client.dispose();
  });
});

describe('WebSockets per client', () => {
  let h: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    h = await pgliteDatabase();
    gw = await startGateway({ handle: h, apiKeys: 'k_a:read,k_b:read', env: { WS_MAX_CONNECTIONS_PER_CLIENT: '2' } });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  /** Opens a raw socket; resolves with it once open, or with the HTTP status that refused it. */
  const open = (headers: Record<string, string> = {}) =>
    new Promise<{ socket: WebSocket; status?: number }>((resolve, reject) => {
      const socket = new WebSocket(gw.wsUrl, 'graphql-transport-ws', { headers });
      socket.on('open', () => resolve({ socket }));
      socket.on('unexpected-response', (_req, res) => resolve({ socket, status: res.statusCode }));
      socket.on('error', reject);
    });
  const closed = (socket: WebSocket) => new Promise<void>((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', () => resolve())));

  it('refuses the next upgrade with HTTP 429, per address or per key, and frees the slot when a socket closes', async () => {
    const first = await open();
    const second = await open();
    expect(first.status ?? second.status).toBeUndefined();
    const third = await open();
    expect(third.status).toBe(429);

    // A key sent on the upgrade has its own allowance.
    const keyed = [await open(bearer('k_a')), await open(bearer('k_a'))];
    expect(keyed.map((k) => k.status)).toEqual([undefined, undefined]);
    expect((await open(bearer('k_a'))).status).toBe(429);
    const other = await open(bearer('k_b'));
    expect(other.status).toBeUndefined();

    first.socket.close();
    await closed(first.socket);
    // The server sees the close a moment later: retry until the slot is free.
    let again = await open();
    for (let i = 0; again.status === 429 && i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await open();
    }
    expect(again.status).toBeUndefined();
    for (const s of [second, again, other, ...keyed]) s.socket.close();
  });
});
