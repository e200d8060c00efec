/**
 * Browsers on other origins (CONTRACT.md "API keys and client secrets", CORS_ORIGINS), over real
 * HTTP and real WebSockets: listed origins get CORS answers on /graphql and nowhere else, other
 * origins get no CORS headers, and WebSocket upgrades from an origin not listed are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ClientSecrets } from '../../src/access/client-secret.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newOrder } from './fixtures.js';
import { collect, startGateway, wsClient, type TestGateway } from './harness.js';

const SHOP = 'https://shop.example.com';
const DEV = 'http://localhost:5173';
const OTHER = 'https://evil.example.net';

/** Every Access-Control-* header of a response. */
const corsHeaders = (res: Response) => [...res.headers].filter(([name]) => name.startsWith('access-control-'));

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
  });

const post = (url: string, origin: string) =>
  fetch(url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });

/** Opens a raw graphql-ws socket; resolves once open, or with the HTTP status that refused it. */
const open = (url: string, origin?: string) =>
  new Promise<{ socket: WebSocket; status?: number }>((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', origin === undefined ? {} : { origin });
    socket.on('open', () => resolve({ socket }));
    socket.on('unexpected-response', (_req, res) => resolve({ socket, status: res.statusCode }));
    socket.on('error', reject);
  });

describe('CORS_ORIGINS', () => {
  let h: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    h = await pgliteDatabase();
    gw = await startGateway({ handle: h, env: { CORS_ORIGINS: `${SHOP}, ${DEV}` } });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('answers a preflight from a listed origin on /graphql, and on no other path', async () => {
    const res = await preflight(gw.url, DEV);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(DEV);
    expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/\bPOST\b/);
    const allowed = res.headers.get('access-control-allow-headers')?.split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'apollo-require-preflight', 'x-apollo-operation-name']));
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();

    // The notify endpoint is for UMS's servers: no browser gets a CORS answer there.
    const notify = await preflight(gw.url.replace('/graphql', '/notify/ums'), DEV);
    expect(corsHeaders(notify)).toEqual([]);
    expect(notify.status).toBe(404);
  });

  it('gives a preflight or a POST from an origin not listed no CORS headers', async () => {
    const listed = await preflight(gw.url, SHOP);
    expect(listed.headers.get('access-control-allow-origin')).toBe(SHOP);
    const res = await preflight(gw.url, OTHER);
    expect(corsHeaders(res)).toEqual([]);
    const postRes = await post(gw.url, OTHER);
    expect(corsHeaders(postRes)).toEqual([]);
  });

  it('answers a POST and a GET from a listed origin with its exact origin, exposing Retry-After', async () => {
    const res = await post(gw.url, SHOP);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    expect(res.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(res.headers.get('access-control-expose-headers')).toBe('retry-after');
    expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();

    const get = await fetch(`${gw.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { origin: DEV, 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe(DEV);
  });

  it('opens WebSockets from a listed origin, the gateway’s own origin or none, and refuses others with 403', async () => {
    const own = new URL(gw.url).origin;
    const opened = [await open(gw.wsUrl, SHOP), await open(gw.wsUrl, own), await open(gw.wsUrl)];
    expect(opened.map((o) => o.status)).toEqual([undefined, undefined, undefined]);
    const refused = await open(gw.wsUrl, OTHER);
    expect(refused.status).toBe(403);
    expect(refused.socket.readyState).not.toBe(WebSocket.OPEN);
    for (const o of opened) o.socket.close();
  });
});

describe('a shop on another origin, holding a client secret and nothing else', () => {
  let h: TestDatabase;
  let gw: TestGateway;
  let merOrderId = '';
  let clientSecret = '';
  const secrets = new ClientSecrets('cors test key material');

  beforeAll(async () => {
    h = await pgliteDatabase();
    merOrderId = await newOrder(h.db);
    clientSecret = secrets.issue('default', merOrderId);
    // Keys are configured (as in live mode): without the secret the page could do nothing.
    gw = await startGateway({ handle: h, apiKeys: 'sk_server:admin', env: { CORS_ORIGINS: SHOP }, extra: { clientSecrets: secrets } });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('reads its payment from the shop’s page: preflight, then POST with Bearer clientSecret', async () => {
    const pre = await preflight(gw.url, SHOP);
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')?.split(/,\s*/)).toContain('authorization');
    const query = 'query($id: ID!) { payment(merOrderId: $id) { merOrderId status } }';
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { origin: SHOP, 'content-type': 'application/json', authorization: `Bearer ${clientSecret}` },
      body: JSON.stringify({ query, variables: { id: merOrderId } }),
    });
    expect(res.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(await res.json()).toEqual({ data: { payment: { merOrderId, status: 'NEW_ORDER' } } });
  });

  it('watches its payment over a WebSocket opened from the shop’s origin', async () => {
    const { socket, status } = await open(gw.wsUrl, SHOP);
    expect(status).toBeUndefined();
    socket.close();
    const { client } = wsClient(gw.wsUrl, { authorization: `Bearer ${clientSecret}` }, { origin: SHOP });
    try {
      const sub = collect<{ paymentStatusChanged: { status: string; payment: { merOrderId: string } } }>(
        client,
        'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { status payment { merOrderId } } }',
        { id: merOrderId },
      );
      await sub.next(1);
      expect(sub.results[0]?.data?.paymentStatusChanged).toEqual({ status: 'NEW_ORDER', payment: { merOrderId } });
      sub.dispose();
    } finally {
      await client.dispose();
    }
    // The same page served from an origin not listed gets no socket (the Origin is really sent).
    const elsewhere = wsClient(gw.wsUrl, { authorization: `Bearer ${clientSecret}` }, { origin: OTHER });
    const sub = collect(elsewhere.client, 'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { status } }', { id: merOrderId });
    expect((await elsewhere.closed).code).not.toBe(1000);
    expect(sub.results).toEqual([]);
    await elsewhere.client.dispose();
  });
});

describe('without CORS_ORIGINS', () => {
  let h: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    h = await pgliteDatabase();
    gw = await startGateway({ handle: h });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('gives no origin CORS headers and keeps taking WebSockets whatever their Origin', async () => {
    expect(corsHeaders(await preflight(gw.url, SHOP))).toEqual([]);
    expect(corsHeaders(await post(gw.url, SHOP))).toEqual([]);
    const socket = await open(gw.wsUrl, OTHER);
    expect(socket.status).toBeUndefined();
    socket.socket.close();
  });
});

describe('CORS_ORIGINS in the configuration', () => {
  const problems = (value: string): readonly string[] => {
    try {
      loadConfig({ CORS_ORIGINS: value, PORT: 'x' });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('no ConfigError');
  };

  it('reads a comma-separated list of origins', () => {
    expect(loadConfig({ CORS_ORIGINS: ` ${SHOP} ,${DEV},` }).corsOrigins).toEqual([SHOP, DEV]);
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  it('refuses "*" and an origin with a path, in one line beside the other variables’ problems', () => {
    expect(problems(`${SHOP},*`)).toEqual([
      'PORT: expected a port number (1-65535)',
      'CORS_ORIGINS: "*" is not accepted: list each origin, e.g. https://shop.example.com',
    ]);
    const [, line] = problems(`${SHOP}/checkout,http://Localhost:5173/`);
    expect(line).toBe(
      'CORS_ORIGINS: "https://shop.example.com/checkout" is not an origin: expected scheme://host[:port] with no path, e.g. https://shop.example.com (did you mean "https://shop.example.com"?); ' +
        '"http://Localhost:5173/" is not an origin: expected scheme://host[:port] with no path, e.g. https://shop.example.com (did you mean "http://localhost:5173"?)',
    );
    expect(problems('ftp://files.example.com')[1]).toMatch(/^CORS_ORIGINS: "ftp:\/\/files.example.com" is not an origin/);
  });
});
