/**
 * What protects the endpoint: CSRF prevention, depth/alias/cost limits that count introspection
 * too, masked internal errors, and Sandbox/introspection only where they belong.
 */
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentError } from '../../src/payments/errors.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { gql, noCommands, startGateway, type TestGateway } from './harness.js';

const SANDBOX_INTROSPECTION = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});

function ofTypeChain(depth: number): string {
  let inner = 'name';
  for (let i = 0; i < depth; i++) inner = `ofType { ${inner} }`;
  return `{ __type(name: "Payment") { ${inner} } }`;
}

describe('protection', () => {
  let h: TestDatabase;
  let dev: TestGateway;
  let prod: TestGateway;
  let prodSandbox: TestGateway;

  beforeAll(async () => {
    h = await pgliteDatabase();
    const failing = {
      ...noCommands,
      sync: () => Promise.reject(new Error('connect ECONNREFUSED postgres://admin:hunter2@db.internal:5432')),
      close: () => Promise.reject(new PaymentError('NOT_FOUND', 'no payment with merOrderId 3194x', { merOrderId: '3194x' })),
      callUms: () => Promise.reject(new PaymentError('UMS_REJECTED', 'UMS refused: NO_ORDER', { errCode: 'NO_ORDER' })),
    };
    dev = await startGateway({ handle: h, commands: failing });
    prod = await startGateway({ handle: h, env: { NODE_ENV: 'production' } });
    prodSandbox = await startGateway({ handle: h, env: { NODE_ENV: 'production', GRAPHQL_SANDBOX: 'true' } });
  });
  afterAll(async () => {
    await Promise.all([dev?.close(), prod?.close(), prodSandbox?.close()]);
    await h?.close();
  });

  describe('limits', () => {
    it('refuses a 26-deep __type { ofType … } chain', async () => {
      const res = await gql(dev.url, ofTypeChain(26));
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.message).toMatch(/nested \d+ levels deep/);
      expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.data).toBeUndefined();
    });

    it("still answers Sandbox's own introspection query", async () => {
      const res = await gql<{ __schema: { types: unknown[] } }>(dev.url, SANDBOX_INTROSPECTION);
      expect(res.errors).toBeUndefined();
      expect(res.data!.__schema.types.length).toBeGreaterThan(10);
    });

    it('refuses too many aliases', async () => {
      const fields = Array.from({ length: 40 }, (_, i) => `a${i}: __typename`).join(' ');
      const res = await gql(dev.url, `{ ${fields} }`);
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.message).toMatch(/aliases/);
    });

    it('refuses an expensive query (large pages nested under fragments)', async () => {
      const node = 'merOrderId status events { id status at source previousStatus } refunds { refundOrderId status } ' + 'a: version b: mid c: tid ';
      // One page of 100 is fine; four of them in one document are not.
      const page = (alias: string) => `${alias}: payments(first: 100) { edges { node { ${node} } } }`;
      const one = await gql(dev.url, `{ ${page('p')} }`);
      expect(one.errors).toBeUndefined();
      const res = await gql(dev.url, `{ ${page('p')} ${page('q')} ${page('r')} ${page('s')} }`);
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.message).toMatch(/too expensive/);
    });

    it('survives a fragment cycle and a fragment bomb without hanging', async () => {
      const cycle = await gql(dev.url, 'query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }');
      expect(cycle.status).toBe(400);
      let bomb = 'fragment F0 on __Type { name }';
      for (let i = 1; i <= 25; i++) bomb += ` fragment F${i} on __Type { ofType { ...F${i - 1} } fields { type { ...F${i - 1} } } }`;
      const started = Date.now();
      const res = await gql(dev.url, `{ __type(name: "Payment") { ...F25 } } ${bomb}`);
      expect(res.status).toBe(400);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });

  describe('CSRF prevention', () => {
    it('refuses a simple GET without a preflight-forcing header', async () => {
      const res = await fetch(`${dev.url}?query=${encodeURIComponent('{ __typename }')}`);
      expect(res.status).toBe(400);
    });

    it('answers a GET query that carries apollo-require-preflight', async () => {
      const res = await fetch(`${dev.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { 'apollo-require-preflight': 'true' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    });

    it('refuses a form-encoded POST', async () => {
      const res = await fetch(dev.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}' });
      expect(res.status).toBe(400);
    });
  });

  describe('errors', () => {
    it('masks an internal error: no message, no stack, no secret', async () => {
      const res = await gql(dev.url, 'mutation { syncPayment(merOrderId: "3194x") { merOrderId } }');
      expect(res.errors).toEqual([{ message: 'Internal server error', locations: expect.any(Array), path: ['syncPayment'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
      const text = JSON.stringify(res);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('ECONNREFUSED');
      expect(text).not.toContain('stacktrace');
    });

    it("passes a PaymentError's code and message through", async () => {
      const notFound = await gql(dev.url, 'mutation { closePayment(merOrderId: "3194x") { merOrderId } }');
      expect(notFound.errors?.[0]).toMatchObject({ message: 'no payment with merOrderId 3194x', extensions: { code: 'NOT_FOUND' } });
      const rejected = await gql(dev.url, 'mutation { callUms(service: "netpay/query", body: {}) }');
      expect(rejected.errors?.[0]?.extensions).toEqual({ code: 'UMS_REJECTED' });
    });
  });

  describe('Sandbox and introspection', () => {
    const html = (url: string) => fetch(url, { headers: { accept: 'text/html' } });

    it('serves Sandbox and allows introspection outside production', async () => {
      const page = await html(dev.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/sandbox/i);
    });

    it('turns both off in production', async () => {
      const page = await html(prod.url);
      expect(await page.text()).not.toMatch(/embeddable-sandbox|EmbeddedSandbox/i);
      const res = await gql(prod.url, '{ __schema { types { name } } }');
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.message).toMatch(/introspection/i);
    });

    it('turns both on in production with GRAPHQL_SANDBOX=true', async () => {
      const page = await html(prodSandbox.url);
      expect(await page.text()).toMatch(/sandbox/i);
      const res = await gql(prodSandbox.url, SANDBOX_INTROSPECTION);
      expect(res.errors).toBeUndefined();
    });

    it('does not leave simulatePayment in a schema built for live mode', async () => {
      const { buildGatewaySchema } = await import('../../src/graphql/schema.js');
      const live = await buildGatewaySchema({ simulatorMode: false });
      const sim = await buildGatewaySchema({ simulatorMode: true });
      expect(live.getMutationType()?.getFields().simulatePayment).toBeUndefined();
      expect(sim.getMutationType()?.getFields().simulatePayment).toBeDefined();
    });
  });
});
