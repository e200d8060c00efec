/**
 * API keys created at run time (CONTRACT.md "API keys and client secrets"), over real HTTP and
 * graphql-ws, on PGlite and Postgres: created by an admin, shown once, scopes enforced, listed
 * without secrets, revoked and expired everywhere within seconds, open sockets closed with 4403,
 * `lastUsedAt` recorded in the background, and the key text never stored.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { apiKeys } from '../../src/db/schema.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { newOrder, pay } from './fixtures.js';
import { ADMIN, createKey, listKeys, newKey, readWith, revokeKey, until, within } from './api-keys-client.js';
import { bearer, collect, countingDatabase, gql, startGateway, wsClient, type TestGateway } from './harness.js';

const SUBSCRIPTION = 'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { status } }';
const CREATE_PAYMENT = 'mutation { createPayment(input: { channel: QR_CODE, totalAmount: 1 }) { qrCode } }';

describeEachDatabase('run-time API keys', (kind) => {
  let h: TestDatabase;
  let gw: TestGateway;
  let merOrderId = '';

  beforeAll(async () => {
    h = await kind.open();
    merOrderId = await newOrder(h.db);
    await pay(h.db, merOrderId);
    gw = await startGateway({ handle: h, apiKeys: `${ADMIN}:admin,k_read:read`, extra: { keyCache: { touchIntervalMs: 100 } } });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('an admin creates a key, shown once, whose scopes are enforced', async () => {
    const { key, view } = await newKey(gw.url, { name: 'reporting', scopes: ['READ'] });
    expect(key).toMatch(/^sk_live_[0-9A-Za-z]{32}$/);
    expect(view).toMatchObject({ name: 'reporting', merchantId: null, scopes: ['READ'], expiresAt: null, revokedAt: null, lastUsedAt: null });
    expect(view.id).toMatch(/^key_[0-9A-Za-z]+$/);
    expect(await readWith(gw.url, key)).toBe('OK');
    const pay = await gql(gw.url, CREATE_PAYMENT, {}, bearer(key));
    expect(pay.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Its own scope does not reach key management either.
    const create = await createKey(gw.url, { scopes: ['ADMIN'] }, key);
    expect(create.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('only an admin manages keys', async () => {
    const create = await createKey(gw.url, { scopes: ['READ'] }, 'k_read');
    expect(create.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await gql(gw.url, 'query { apiKeys { id } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lists keys without their text or hash', async () => {
    const { id, key } = await newKey(gw.url, { name: 'listed', scopes: ['PAY', 'REFUND'] });
    const res = await listKeys(gw.url);
    expect(res.errors).toBeUndefined();
    const listed = res.data?.apiKeys.find((k) => k.id === id);
    expect(listed).toMatchObject({ name: 'listed', merchantId: null, revokedAt: null });
    expect(new Set(listed?.scopes)).toEqual(new Set(['PAY', 'REFUND']));
    const [stored] = await h.db.select({ keyHash: apiKeys.keyHash }).from(apiKeys).where(eq(apiKeys.id, id));
    const body = JSON.stringify(res.data);
    expect(body).not.toContain(key);
    expect(body).not.toContain(stored?.keyHash);
  });

  it('refuses bad input and stores nothing', async () => {
    const before = (await h.db.select().from(apiKeys)).length;
    const cases = [
      { input: { scopes: ['READ'], merchantId: 'm1' }, message: 'No merchant', code: 'NOT_FOUND' },
      { input: { scopes: ['READ'], expiresAt: new Date(Date.now() - 1000).toISOString() }, message: 'expiresAt' },
      { input: { scopes: [] }, message: 'scopes' },
    ];
    for (const { input, message, code } of cases) {
      const res = await createKey(gw.url, input);
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe(code ?? 'BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toContain(message);
    }
    // A merchant with no keys (or none at all) lists nothing.
    const list = await listKeys(gw.url, { merchantId: 'm1' });
    expect(list.data?.apiKeys).toEqual([]);
    expect((await h.db.select().from(apiKeys)).length).toBe(before);
  });

  it('a revoked key is UNAUTHENTICATED; revoking again changes nothing; an unknown id is NOT_FOUND', async () => {
    const { id, key } = await newKey(gw.url, { scopes: ['READ'] });
    expect(await readWith(gw.url, key)).toBe('OK');
    const first = await revokeKey(gw.url, id);
    expect(first.data?.revokeApiKey.revokedAt).toEqual(expect.any(String));
    expect(await readWith(gw.url, key)).toBe('UNAUTHENTICATED');
    const again = await revokeKey(gw.url, id);
    expect(again.data?.revokeApiKey.revokedAt).toBe(first.data?.revokeApiKey.revokedAt);
    const unknown = await revokeKey(gw.url, 'key_nope');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('an expired key is UNAUTHENTICATED from its expiry on', async () => {
    const expiresAt = new Date(Date.now() + 1500);
    const { key, view } = await newKey(gw.url, { scopes: ['READ'], expiresAt: expiresAt.toISOString() });
    expect(view.expiresAt).toBe(expiresAt.toISOString());
    expect(await readWith(gw.url, key)).toBe('OK');
    await until(() => readWith(gw.url, key), 'UNAUTHENTICATED', 5000);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
  });

  it('records lastUsedAt in the background, at most once a minute', async () => {
    const { id, key } = await newKey(gw.url, { scopes: ['READ'] });
    const before = Date.now();
    expect(await readWith(gw.url, key)).toBe('OK');
    const lastUsed = async () => (await listKeys(gw.url)).data?.apiKeys.find((k) => k.id === id)?.lastUsedAt != null;
    await until(lastUsed, true, 5000);
    const listed = (await listKeys(gw.url)).data?.apiKeys.find((k) => k.id === id);
    expect(new Date(listed?.lastUsedAt ?? 0).getTime()).toBeGreaterThanOrEqual(before - 1000);
    // At most once a minute: a second use, several write periods (100 ms here) later, changes nothing.
    expect(await readWith(gw.url, key)).toBe('OK');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const later = (await listKeys(gw.url)).data?.apiKeys.find((k) => k.id === id);
    expect(later?.lastUsedAt).toBe(listed?.lastUsedAt);
  });

  it('closes an open WebSocket of a revoked key with 4403', async () => {
    const { id, key } = await newKey(gw.url, { scopes: ['READ'] });
    const { client, closed } = wsClient(gw.wsUrl, { authorization: `Bearer ${key}` });
    const sub = collect<{ paymentStatusChanged: { status: string } }>(client, SUBSCRIPTION, { id: merOrderId });
    await sub.next(1);
    const revokedAt = Date.now();
    await revokeKey(gw.url, id);
    const event = await within(closed, 5000, 'close');
    expect(event.code).toBe(4403);
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    sub.dispose();
    await client.dispose();
  });

  it('checks a run-time key without a database query', async () => {
    // Created before this instance starts, which loads it: no change notification arrives later.
    const { key } = await newKey(gw.url, { scopes: ['READ'] });
    const counting = countingDatabase(h.db);
    const gw2 = await startGateway({ handle: h, db: counting.db, apiKeys: `${ADMIN}:admin` });
    try {
      counting.reset();
      // Refused by scope before any resolver runs: whatever query there is, the key check made it.
      for (let i = 0; i < 5; i++) expect((await gql(gw2.url, CREATE_PAYMENT, {}, bearer(key))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(counting.count()).toBe(0);
    } finally {
      await gw2.close();
    }
  });

  it('never stores the key text', async () => {
    const { id, key } = await newKey(gw.url, { name: 'dumped', scopes: ['ADMIN'] });
    const dump = JSON.stringify(await h.db.select().from(apiKeys));
    expect(dump).toContain(id);
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(key.slice('sk_live_'.length));
  });

  it.skipIf(kind.driver === 'pglite')('a revocation reaches a second instance on the same database within 5 s', async () => {
    // A second process in all but name: its own pool, its own LISTEN connection.
    const other: DatabaseHandle = await openDatabase({ url: h.url });
    const gw2 = await startGateway({ handle: other, apiKeys: `${ADMIN}:admin` });
    try {
      const { id, key } = await newKey(gw.url, { scopes: ['READ'] });
      await until(() => readWith(gw2.url, key), 'OK', 5000);
      const { client, closed } = wsClient(gw2.wsUrl, { authorization: `Bearer ${key}` });
      const sub = collect<{ paymentStatusChanged: { status: string } }>(client, SUBSCRIPTION, { id: merOrderId });
      await sub.next(1);
      await revokeKey(gw.url, id);
      const took = await until(() => readWith(gw2.url, key), 'UNAUTHENTICATED', 5000);
      expect(took).toBeLessThan(5000);
      expect((await within(closed, 5000, 'close')).code).toBe(4403);
      sub.dispose();
      await client.dispose();
    } finally {
      await gw2.close();
      await other.close();
    }
  });
});

