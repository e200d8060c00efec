/**
 * Merchant administration over GraphQL (CONTRACT.md "Merchants"), on a whole gateway: create,
 * read, update, disable; every malformed field a specific BAD_USER_INPUT with nothing stored;
 * duplicates CONFLICT; `default` listed but not changeable; secrets in no answer and in no column
 * of the table as text; a merchant-less live gateway refuses to store one without GATEWAY_SECRET_KEY.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.js';
import { DEMO, loadConfig } from '../../src/config.js';
import { startSimulator, type UmsSimulator } from '../../src/sim/simulator.js';
import { freePort, gql } from '../app/support.js';
import { createLogger } from '../../src/log.js';
import { databaseKinds, describeEachDatabase } from '../support/db.js';
import {
  CREATE_MERCHANT,
  MERCHANT,
  MERCHANT_B,
  MERCHANTS,
  silent,
  startMerchantGateway,
  UPDATE_MERCHANT,
  type MerchantAnswer,
  type MerchantGateway,
} from './support.js';

/** postgres.js answers rows, PGlite `{ rows }`. */
function rowsOf(result: unknown): Record<string, unknown>[] {
  return (Array.isArray(result) ? result : (result as { rows: Record<string, unknown>[] }).rows) as Record<string, unknown>[];
}

const SECRETS = [MERCHANT_B.appKey, MERCHANT_B.notifyKey, 'previous-notify-key-of-b-555'];

describeEachDatabase('merchant administration', (kind) => {
  let m: MerchantGateway;
  let gw: Gateway;
  beforeAll(async () => {
    m = await startMerchantGateway(kind);
    gw = m.gw;
  });
  afterAll(() => m?.close());

  const rows = async () => rowsOf(await gw.database.db.execute(sql`select * from merchants`));
  const count = async () => (await rows()).length;

  it('lists the environment’s merchant as `default`', async () => {
    const answer = await gql<{ merchants: MerchantAnswer[] }>(gw.url, MERCHANTS);
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.merchants).toHaveLength(1);
    expect(answer.data!.merchants[0]).toMatchObject({ id: 'default', mid: DEMO.mid, tid: DEMO.tid, sourceId: DEMO.sourceId, appId: DEMO.appId, enabled: true });
  });

  it('creates a merchant; the answer and every later read carry no secret', async () => {
    const created = await gql<{ createMerchant: MerchantAnswer }>(gw.url, CREATE_MERCHANT, { input: { ...MERCHANT_B, notifyKeyPrevious: SECRETS[2] } });
    expect(created.errors).toBeUndefined();
    expect(created.data!.createMerchant).toMatchObject({ id: 'b', name: 'Shop B', mid: MERCHANT_B.mid, authMode: 'body-sig', enabled: true });
    expect(created.data!.createMerchant.notifyUrl).toBe(`${gw.url}/notify/ums/b`);
    const listed = await gql<{ merchants: MerchantAnswer[] }>(gw.url, MERCHANTS);
    expect(listed.data!.merchants.map((x) => x.id)).toEqual(['default', 'b']);
    const one = await gql<{ merchant: MerchantAnswer | null }>(gw.url, MERCHANT, { id: 'b' });
    expect(one.data!.merchant?.mid).toBe(MERCHANT_B.mid);
    expect((await gql<{ merchant: MerchantAnswer | null }>(gw.url, MERCHANT, { id: 'nobody' })).data!.merchant).toBeNull();
    for (const text of [JSON.stringify(created), JSON.stringify(listed), JSON.stringify(one)]) {
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    }
  });

  it('keeps the secrets encrypted: a dump of the table holds none of them', async () => {
    const dump = JSON.stringify(await rows());
    expect(dump).toContain(MERCHANT_B.mid);
    for (const secret of SECRETS) expect(dump).not.toContain(secret);
    expect(dump).toMatch(/"secrets":"v1\./);
  });

  it('refuses each malformed field with a specific BAD_USER_INPUT and stores nothing', async () => {
    const before = await count();
    expect(before).toBe(1);
    const cases: [Record<string, unknown>, string][] = [
      [{ id: 'Upper' }, 'id'],
      [{ id: 'x'.repeat(33) }, 'id'],
      [{ id: 'default' }, 'id'],
      [{ mid: '12' }, 'mid'],
      [{ mid: '8983-1006' }, 'mid'],
      [{ tid: '1' }, 'tid'],
      [{ sourceId: '12345' }, 'sourceId'],
      [{ instMid: 'NOPE' }, 'instMid'],
      [{ authMode: 'oauth' }, 'authMode'],
      [{ appId: 'has space' }, 'appId'],
      [{ appKey: '' }, 'appKey'],
      [{ notifyKey: 'with space' }, 'notifyKey'],
      [{ name: 'n'.repeat(201) }, 'name'],
    ];
    for (const [change, field] of cases) {
      const answer = await gql(gw.url, CREATE_MERCHANT, { input: { ...MERCHANT_B, id: 'c', mid: '898310060514003', ...change } });
      expect(answer.errors?.[0]?.extensions?.code, JSON.stringify(change)).toBe('BAD_USER_INPUT');
      expect(answer.errors?.[0]?.message).toMatch(new RegExp(`^${field}:`));
      for (const secret of SECRETS) expect(JSON.stringify(answer)).not.toContain(secret);
    }
    expect(await count()).toBe(before);
  });

  it('answers CONFLICT for a duplicate id or a duplicate mid/tid (the default merchant’s too), storing nothing', async () => {
    const before = await count();
    const sameId = await gql(gw.url, CREATE_MERCHANT, { input: { ...MERCHANT_B, mid: '898310060514009' } });
    expect(sameId.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const sameMidTid = await gql(gw.url, CREATE_MERCHANT, { input: { ...MERCHANT_B, id: 'c' } });
    expect(sameMidTid.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const defaults = await gql(gw.url, CREATE_MERCHANT, { input: { ...MERCHANT_B, id: 'c', mid: DEMO.mid, tid: DEMO.tid } });
    expect(defaults.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await count()).toBe(before);
  });

  it('updates (replaces) a merchant, disables it, and refuses to touch `default`, a mismatched id or an unknown one', async () => {
    const disabled = await gql<{ updateMerchant: MerchantAnswer }>(gw.url, UPDATE_MERCHANT, {
      id: 'b',
      input: { ...MERCHANT_B, name: 'Shop B (closed)', enabled: false, authMode: 'token' },
    });
    expect(disabled.errors).toBeUndefined();
    expect(disabled.data!.updateMerchant).toMatchObject({ id: 'b', name: 'Shop B (closed)', enabled: false, authMode: 'token' });
    const refused = await gql(gw.url, 'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId } } }', {
      input: { channel: 'QR_CODE', totalAmount: 100, merchantId: 'b' },
    });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.message).toMatch(/merchant b is disabled/);

    const reenabled = await gql<{ updateMerchant: MerchantAnswer }>(gw.url, UPDATE_MERCHANT, { id: 'b', input: { ...MERCHANT_B } });
    expect(reenabled.data!.updateMerchant).toMatchObject({ enabled: true, authMode: 'body-sig', name: 'Shop B' });

    const mismatch = await gql(gw.url, UPDATE_MERCHANT, { id: 'b', input: { ...MERCHANT_B, id: 'c' } });
    expect(mismatch.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await gql(gw.url, UPDATE_MERCHANT, { id: 'c', input: { ...MERCHANT_B, id: 'c', mid: '898310060514003' } });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const env = await gql(gw.url, UPDATE_MERCHANT, { id: 'default', input: { ...MERCHANT_B, id: 'default' } });
    expect(env.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(env.errors?.[0]?.message).toMatch(/default/);
  });

  it('refuses createPayment for a merchant that does not exist', async () => {
    const answer = await gql(gw.url, 'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId } } }', {
      input: { channel: 'QR_CODE', totalAmount: 100, merchantId: 'nobody' },
    });
    // As for a merchant a key may not see (access: indistinguishable from one that does not exist).
    expect(answer.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(answer.errors?.[0]?.message).toMatch(/nobody/);
  });
});

describe('merchant administration needs a gateway-wide admin key, and GATEWAY_SECRET_KEY in live mode', () => {
  let ums: UmsSimulator;
  let gw: Gateway;
  beforeAll(async () => {
    ums = await startSimulator({ credentials: { ...DEMO } });
    const config = loadConfig({
      PORT: String(await freePort()),
      PGLITE_DATA_DIR: 'memory://',
      UMS_BASE_URL: ums.url,
      UMS_APP_ID: DEMO.appId,
      UMS_APP_KEY: DEMO.appKey,
      UMS_NOTIFY_KEY: DEMO.notifyKey,
      UMS_SOURCE_ID: DEMO.sourceId,
      UMS_MID: DEMO.mid,
      UMS_TID: DEMO.tid,
      GATEWAY_API_KEYS: 'sk_admin:admin,pk_pay:read+pay',
    });
    gw = await startGateway(config, { log: silent, defaultMetrics: false, scheduler: false });
  });
  afterAll(async () => {
    await gw?.close();
    await ums?.close();
  });

  it('needs the admin scope', async () => {
    expect((await gql(gw.url, MERCHANTS)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(gw.url, MERCHANTS, {}, 'pk_pay')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql(gw.url, CREATE_MERCHANT, { input: MERCHANT_B }, 'pk_pay')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql<{ merchants: MerchantAnswer[] }>(gw.url, MERCHANTS, {}, 'sk_admin')).data?.merchants).toHaveLength(1);
  });

  it('without GATEWAY_SECRET_KEY, createMerchant fails with SECRET_KEY_MISSING and stores nothing', async () => {
    const answer = await gql(gw.url, CREATE_MERCHANT, { input: MERCHANT_B }, 'sk_admin');
    expect(answer.errors?.[0]?.extensions?.code).toBe('SECRET_KEY_MISSING');
    expect(answer.errors?.[0]?.message).toMatch(/GATEWAY_SECRET_KEY/);
    for (const secret of SECRETS) expect(JSON.stringify(answer)).not.toContain(secret);
    const stored = rowsOf(await gw.database.db.execute(sql`select id from merchants`));
    expect(stored).toHaveLength(0);
  });
});

describe('merchant secrets in the logs', () => {
  it('never appear, from create to a paid and refunded payment, at debug level', async () => {
    const lines: string[] = [];
    const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
    const [kind] = databaseKinds;
    const m = await startMerchantGateway(kind!, {}, log);
    try {
      const gw = m.gw;
      expect((await gql(gw.url, CREATE_MERCHANT, { input: { ...MERCHANT_B, notifyKeyPrevious: SECRETS[2] } })).errors).toBeUndefined();
      expect((await gql(gw.url, UPDATE_MERCHANT, { id: 'b', input: { ...MERCHANT_B, authMode: 'token', notifyKeyPrevious: SECRETS[2] } })).errors).toBeUndefined();
      const created = await gql<{ createPayment: { payment: { merOrderId: string } } }>(gw.url, 'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId } } }', {
        input: { channel: 'QR_CODE', totalAmount: 300, merchantId: 'b' },
      });
      const merOrderId = created.data!.createPayment.payment.merOrderId;
      gw.simulator!.pay(merOrderId);
      await gw.simulator!.waitForDelivery((d) => d.merOrderId === merOrderId);
      const refunded = await gql(gw.url, 'mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { status } }', {
        input: { merOrderId, refundAmount: 100, refundOrderId: `${MERCHANT_B.sourceId}R${Date.now()}` },
      });
      expect(refunded.errors).toBeUndefined();
      expect(lines.length).toBeGreaterThan(5);
      const text = lines.join('');
      expect(text).toContain(merOrderId);
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    } finally {
      await m.close();
    }
  });
});
