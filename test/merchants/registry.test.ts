/**
 * The merchant registry (src/merchants/registry.ts) over a real database: a merchant created or
 * changed through one instance's store is seen by another instance's registry within seconds
 * (LISTEN/NOTIFY), lookups cost no query, a rotated GATEWAY_SECRET_KEY re-encrypts on start, and
 * a wrong key leaves the merchant out with an error naming the variable instead of failing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { MerchantRegistry } from '../../src/merchants/registry.js';
import { newSecretKey, parseSecretKey, SecretBox } from '../../src/merchants/secret-box.js';
import { MerchantStore, type MerchantValues } from '../../src/merchants/store.js';
import { until } from '../app/support.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { MERCHANT_B, silent } from './support.js';

const config = loadConfig({ UMS_NOTIFY_URL: 'https://pay.example.com/notify/ums' });
const clientOptions = { baseUrl: 'http://127.0.0.1:9' };

function values(box: SecretBox, change: Partial<MerchantValues> = {}): MerchantValues {
  const { appKey, notifyKey, ...rest } = MERCHANT_B;
  return { ...rest, instMid: null, authMode: 'body-sig', enabled: true, secrets: box.seal(JSON.stringify({ appKey, notifyKey })), ...change };
}

describeEachDatabase('merchant registry', (kind) => {
  let first: TestDatabase;
  let second: DatabaseHandle;
  const registries: MerchantRegistry[] = [];
  beforeAll(async () => {
    first = await kind.open();
    second = first.url ? await openDatabase({ url: first.url }) : first;
  });
  afterAll(async () => {
    await Promise.all(registries.map((r) => r.close()));
    if (second !== first) await second.close();
    await first?.close();
  });

  const start = async (handle: DatabaseHandle, box: SecretBox | undefined, log = silent) => {
    const registry = new MerchantRegistry({ config, store: new MerchantStore(handle.db), box, listener: handle, clientOptions, log, refreshIntervalMs: 0 });
    registries.push(registry);
    await registry.start();
    return registry;
  };

  it('sees a merchant created or changed on another instance within seconds, and looks it up in memory', async () => {
    const key = parseSecretKey(newSecretKey())!;
    const box = new SecretBox(key);
    const watcher = await start(second, box);
    expect(watcher.merchant('b')).toBeUndefined();
    expect(watcher.merchant('default')?.profile.mid).toBe(config.umsMid);

    const store = new MerchantStore(first.db);
    await store.create(values(box, { id: 'b1', mid: '898310060514101' }));
    const seen = await until('b1 on the other instance', () => watcher.merchant('b1'), 5_000);
    expect(seen.profile).toMatchObject({ mid: '898310060514101', sourceId: MERCHANT_B.sourceId, notifyUrl: 'https://pay.example.com/notify/ums/b1', enabled: true });
    expect(seen.notifyKeys).toEqual([MERCHANT_B.notifyKey]);
    expect(watcher.byMidTid('898310060514101', MERCHANT_B.tid)?.id).toBe('b1');
    expect(watcher.byMidTid('898310060514101', undefined)?.id).toBe('b1');
    expect(String(seen.profile.appKey)).toBe('[redacted]');

    await store.replace(values(box, { id: 'b1', mid: '898310060514101', enabled: false }));
    await until('b1 disabled on the other instance', () => (watcher.merchant('b1')?.enabled === false ? true : undefined), 5_000);
    expect(watcher.merchant('b1')).not.toBe(seen);
  });

  it('re-encrypts boxes of GATEWAY_SECRET_KEY_PREVIOUS on start; a wrong key leaves the merchant out, naming the variable', async () => {
    const oldKey = parseSecretKey(newSecretKey())!;
    const newKey = parseSecretKey(newSecretKey())!;
    const store = new MerchantStore(first.db);
    await store.create(values(new SecretBox(oldKey), { id: 'b2', mid: '898310060514102' }));

    const lines: string[] = [];
    const log = { ...silent, error: (obj: unknown, msg?: string) => lines.push(`${JSON.stringify(obj)} ${msg ?? ''}`), warn: () => {}, info: () => {}, debug: () => {} };
    const wrong = await start(first, new SecretBox(newKey), log as unknown as typeof silent);
    expect(wrong.merchant('b2')).toBeUndefined();
    expect(lines.some((l) => l.includes('b2') && l.includes('GATEWAY_SECRET_KEY'))).toBe(true);
    expect(lines.join('\n')).not.toContain(MERCHANT_B.appKey);

    const rotating = await start(first, new SecretBox(newKey, oldKey));
    expect(rotating.merchant('b2')?.notifyKeys).toEqual([MERCHANT_B.notifyKey]);
    const row = await store.get('b2');
    expect(new SecretBox(newKey).needsResealing(row!.secrets)).toBe(false);
    // The old key can go now: the new one alone opens the box.
    const after = await start(first, new SecretBox(newKey));
    expect(after.merchant('b2')?.profile.mid).toBe('898310060514102');
  });
});
