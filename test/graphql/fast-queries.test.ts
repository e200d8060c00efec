/**
 * The fast road for known query documents (src/graphql/fast-queries.ts): what it takes and what
 * it leaves to Apollo, and, over real HTTP, that its answers are Apollo's answers byte for byte
 * (status, content type, body), that errors still come from Apollo, masked, and that a merchant's
 * key still sees nothing of another merchant on it.
 */
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, NoSchemaIntrospectionCustomRule, specifiedRules } from 'graphql';
import { compileQuery } from 'graphql-jit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaymentReads } from '../../src/graphql/data.js';
import { FastQueries, MAX_FAST_QUERY_LENGTH } from '../../src/graphql/fast-queries.js';
import { DEFAULT_LIMITS, documentShapeError, queryLimitsRule } from '../../src/graphql/limits.js';
import type { Visibility } from '../../src/access/visibility.js';
import { moveToMerchant, addMerchant } from '../access/merchant-setup.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newKey, until } from './api-keys-client.js';
import { newOrder } from './fixtures.js';
import { bearer, startGateway, type TestGateway } from './harness.js';

// graphql-jit as is, its compileQuery counted (what the fast road compiles, and when).
vi.mock('graphql-jit', async (importOriginal) => {
  const jit = await importOriginal<typeof import('graphql-jit')>();
  return { ...jit, compileQuery: vi.fn(jit.compileQuery) };
});

describe('FastQueries', () => {
  let calls = 0;
  const query = new GraphQLObjectType({
    name: 'Query',
    fields: {
      a: { type: GraphQLInt, args: { x: { type: GraphQLInt } }, resolve: (_root, args: { x?: number }) => (calls++, args.x ?? 1) },
      b: { type: GraphQLInt, resolve: () => 2 },
      boom: { type: GraphQLInt, resolve: () => Promise.reject(new Error('internal detail')) },
    },
  });
  const mutation = new GraphQLObjectType({ name: 'Mutation', fields: { m: { type: GraphQLInt, resolve: () => 3 } } });
  const schema = new GraphQLSchema({ query, mutation });
  const fast = new FastQueries({
    schema,
    rules: [...specifiedRules, queryLimitsRule(DEFAULT_LIMITS), NoSchemaIntrospectionCustomRule],
    shapeError: (text) => documentShapeError(text, DEFAULT_LIMITS),
    hideSuggestions: true,
  });
  const context = () => Promise.resolve({});
  const run = (body: unknown, accept?: string) => fast.run({ body, accept }, context);

  it('answers a single-field query as Apollo encodes it, with the content type the Accept header gets', async () => {
    const answer = await run({ query: 'query A($x: Int) { a(x: $x) }', variables: { x: 7 }, operationName: 'A' });
    expect(answer).toEqual({ contentType: 'application/json; charset=utf-8', body: '{"data":{"a":7}}\n', operationName: 'A' });
    const typed = await run({ query: 'query A($x: Int) { a(x: $x) }', variables: { x: 8 } }, 'application/graphql-response+json, application/json');
    expect(typed?.contentType).toBe('application/graphql-response+json; charset=utf-8');
    expect(fast.known('query A($x: Int) { a(x: $x) }')).toBe(true);
  });

  it('leaves to Apollo: mutations, several root fields, invalid documents, introspection, unusual bodies and Accept headers', async () => {
    const before = calls;
    expect(await run({ query: 'mutation { m }' })).toBeUndefined();
    expect(await run({ query: '{ a b }' })).toBeUndefined();
    expect(await run({ query: '{ nope }' })).toBeUndefined();
    expect(await run({ query: '{ a(' })).toBeUndefined();
    expect(await run({ query: '{ __schema { queryType { name } } }' })).toBeUndefined();
    expect(await run({ query: 'query A { a } query B { b }', operationName: 'A' })).toBeUndefined();
    expect(await run({ query: 'query A { a }', operationName: 'Other' })).toBeUndefined();
    expect(await run({ query: '{ a }', extensions: { persistedQuery: {} } })).toBeUndefined();
    expect(await run({ query: '{ a }', variables: '{}' })).toBeUndefined();
    expect(await run({ query: '{ a }' }, 'text/html')).toBeUndefined();
    expect(await run([{ query: '{ a }' }])).toBeUndefined();
    // Only the last two reached a text check; none ran a resolver.
    expect(calls).toBe(before);
    // What was refused once is remembered: Apollo alone handles it from then on.
    expect(fast.known('{ a b }')).toBe(true);
  });

  it('leaves texts too long to keep to Apollo without parsing them (they would be checked on every request)', async () => {
    const long = `query Long { a }\n#${'x'.repeat(MAX_FAST_QUERY_LENGTH)}`;
    const before = calls;
    expect(await run({ query: long })).toBeUndefined();
    expect(calls).toBe(before);
  });

  it('compiles a document only once it has been answered: failing requests never make the server compile', async () => {
    const compiles = vi.mocked(compileQuery);
    compiles.mockClear();
    for (let i = 0; i < 3; i++) expect(await run({ query: 'query Boom { boom }' })).toBeUndefined();
    expect(await run({ query: 'query Twice($x: Int) { a(x: $x) }', variables: { x: 'nope' } })).toBeUndefined();
    expect(await run({ query: 'query Twice($x: Int) { a(x: $x) }', variables: { x: 'nope' } })).toBeUndefined();
    expect(compiles).not.toHaveBeenCalled();
    expect(await run({ query: 'query Twice($x: Int) { a(x: $x) }', variables: { x: 1 } })).toBeDefined();
    expect(await run({ query: 'query Twice($x: Int) { a(x: $x) }', variables: { x: 2 } })).toEqual(expect.objectContaining({ body: '{"data":{"a":2}}\n' }));
    expect(compiles).toHaveBeenCalledTimes(1);
  });

  it('counts compiled documents in its size limit, so their number is bounded', async () => {
    const small = new FastQueries({
      schema,
      rules: [...specifiedRules, queryLimitsRule(DEFAULT_LIMITS), NoSchemaIntrospectionCustomRule],
      shapeError: (text) => documentShapeError(text, DEFAULT_LIMITS),
      hideSuggestions: true,
      maxKnownBytes: 200_000,
    });
    const texts = Array.from({ length: 40 }, (_, i) => `query Q${i} { a(x: ${i}) }`);
    for (const text of texts) {
      for (let use = 0; use < 3; use++) expect(await small.run({ body: { query: text }, accept: undefined }, context)).toBeDefined();
    }
    // Some 1 KB of text, but 40 compiled documents: the oldest made room.
    expect(small.known(texts[0] as string)).toBe(false);
    expect(small.known(texts[39] as string)).toBe(true);
  });

  it('leaves any execution with errors to Apollo (bad variables, a failing resolver)', async () => {
    expect(await run({ query: 'query A($x: Int) { a(x: $x) }', variables: { x: 'seven' } })).toBeUndefined();
    expect(await run({ query: '{ boom }' })).toBeUndefined();
  });
});

/** findPayment fails for one id with a message that must never reach a client. */
class FailingReads extends PaymentReads {
  override async findPayment(merOrderId: string, view: Visibility) {
    if (merOrderId === 'FAILS') throw new Error('connection to 10.0.0.7 failed: password=hunter2');
    return super.findPayment(merOrderId, view);
  }
}

describe('the fast road over HTTP', () => {
  let h: TestDatabase;
  let fast: TestGateway;
  let apollo: TestGateway;
  let mine = '';
  let theirs = '';
  let merchantKey = '';
  const QUERY = 'query Payment($merOrderId: ID!) { payment(merOrderId: $merOrderId) { merOrderId status version channel totalAmount mid tid refundedAmount createdAt updatedAt } }';

  beforeAll(async () => {
    h = await pgliteDatabase();
    const apiKeys = 'k_admin:admin,k_read:read';
    fast = await startGateway({ handle: h, apiKeys, extra: { reads: new FailingReads(h.db) } });
    apollo = await startGateway({ handle: h, apiKeys, extra: { reads: new FailingReads(h.db), fastQueries: false } });
    await addMerchant(h.db, 'm2', 2);
    mine = await newOrder(h.db);
    theirs = await newOrder(h.db);
    await moveToMerchant(h.db, theirs, 'm2');
    merchantKey = (await newKey(fast.url, { name: 'default read', scopes: ['READ'], merchantId: 'default' })).key;
    for (const gw of [fast, apollo]) {
      await until(async () => (await send(gw, { query: QUERY, variables: { merOrderId: mine } }, merchantKey)).body.includes(mine), true, 10_000);
    }
  });
  afterAll(async () => {
    await fast?.close();
    await apollo?.close();
    await h?.close();
  });

  async function send(gw: TestGateway, body: unknown, key: string, accept?: string) {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key), ...(accept === undefined ? {} : { accept }) },
      body: JSON.stringify(body),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  }

  it('answers what Apollo answers, byte for byte, the first time and once the document is known', async () => {
    // Which answers the fast road gave (the gateway without it never calls run).
    const run = vi.spyOn(FastQueries.prototype, 'run');
    const cases: [unknown, string, string | undefined][] = [
      [{ query: QUERY, variables: { merOrderId: mine }, operationName: 'Payment' }, merchantKey, undefined],
      [{ query: QUERY, variables: { merOrderId: mine } }, 'k_read', 'application/graphql-response+json, application/json'],
      [{ query: QUERY, variables: { merOrderId: mine } }, 'k_read', '*/*'],
      [{ query: QUERY, variables: { merOrderId: 'nothing-here' } }, merchantKey, 'application/json'],
      // Another merchant's payment reads as none for a merchant key, on both roads.
      [{ query: QUERY, variables: { merOrderId: theirs } }, merchantKey, undefined],
      [{ query: QUERY, variables: { merOrderId: theirs } }, 'k_read', undefined],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [body, key, accept] of cases) {
        const viaApollo = await send(apollo, body, key, accept);
        expect(await send(fast, body, key, accept)).toEqual(viaApollo);
      }
    }
    expect((await send(fast, { query: QUERY, variables: { merOrderId: theirs } }, merchantKey)).body).toBe('{"data":{"payment":null}}\n');
    const answered = await Promise.all(run.mock.results.map((r) => r.value as Promise<unknown>));
    expect(answered.length).toBe(2 * cases.length + 1);
    expect(answered.every((answer) => answer !== undefined)).toBe(true);
    run.mockRestore();
  });

  it('leaves errors to Apollo: masked, and the same on both roads', async () => {
    const run = vi.spyOn(FastQueries.prototype, 'run');
    for (let round = 0; round < 2; round++) {
      const failing = await send(fast, { query: QUERY, variables: { merOrderId: 'FAILS' } }, 'k_read');
      expect(failing).toEqual(await send(apollo, { query: QUERY, variables: { merOrderId: 'FAILS' } }, 'k_read'));
      expect(failing.body).toMatch(/INTERNAL_SERVER_ERROR/);
      expect(failing.body).not.toMatch(/hunter2|10\.0\.0\.7/);
      const anonymous = await send(fast, { query: QUERY, variables: { merOrderId: mine } }, 'not-a-key');
      expect(anonymous.body).toMatch(/UNAUTHENTICATED/);
      expect(anonymous.body).not.toContain(mine);
    }
    // The fast road was asked each time and answered none of them.
    const answered = await Promise.all(run.mock.results.map((r) => r.value as Promise<unknown>));
    expect(answered.length).toBe(4);
    expect(answered.every((answer) => answer === undefined)).toBe(true);
    run.mockRestore();
  });

  it('never answers OPTIONS with a query body: nothing runs, and the answer is what Apollo gives', async () => {
    const run = vi.spyOn(FastQueries.prototype, 'run');
    const options = async (gw: TestGateway) => {
      const res = await fetch(gw.url, {
        method: 'OPTIONS',
        headers: { 'content-type': 'application/json', ...bearer('k_read') },
        body: JSON.stringify({ query: QUERY, variables: { merOrderId: mine } }),
      });
      return { status: res.status, body: await res.text() };
    };
    const viaFast = await options(fast);
    expect(viaFast).toEqual(await options(apollo));
    expect(viaFast.status).toBe(405);
    expect(viaFast.body).not.toContain(mine);
    expect(run).not.toHaveBeenCalled();
    run.mockRestore();
  });

  it('records the operations it answers in graphql_operation_duration_seconds', async () => {
    await send(fast, { query: QUERY, variables: { merOrderId: mine } }, 'k_read');
    const { values } = await fast.metrics.graphqlOperations.get();
    const count = values.find((v) => v.metricName?.endsWith('_count') && v.labels.operation === 'Payment' && v.labels.outcome === 'success');
    expect(count?.value).toBeGreaterThan(0);
  });
});
