/**
 * The secret box (src/merchants/secret-box.ts) and where its key comes from (secret-key.ts):
 * round trip, a wrong key named by its variable (never a secret), rotation with the previous key,
 * tampering detected, and simulator mode's generated key kept 0600 beside the data directory.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { keyIdOf, newSecretKey, parseSecretKey, SecretBox, SecretBoxError } from '../../src/merchants/secret-box.js';
import { generatedKeyPath, openSecretBox } from '../../src/merchants/secret-key.js';

const PLAIN = JSON.stringify({ appKey: 'app-key-very-secret', notifyKey: 'notify-key-very-secret' });
const key = () => parseSecretKey(newSecretKey())!;

describe('SecretBox', () => {
  it('opens what it sealed; every box differs (fresh IV) and carries the version and key id', () => {
    const k = key();
    const box = new SecretBox(k);
    const a = box.seal(PLAIN);
    const b = box.seal(PLAIN);
    expect(a).not.toBe(b);
    expect(a.split('.')).toHaveLength(5);
    expect(a.startsWith(`v1.${keyIdOf(k)}.`)).toBe(true);
    expect(a).not.toContain('very-secret');
    expect(box.open(a)).toBe(PLAIN);
    expect(box.open(b)).toBe(PLAIN);
  });

  it('refuses a box sealed with another key, naming GATEWAY_SECRET_KEY and never the secret', () => {
    const sealed = new SecretBox(key()).seal(PLAIN);
    const other = new SecretBox(key());
    expect(() => other.open(sealed)).toThrow(SecretBoxError);
    try {
      other.open(sealed);
    } catch (err) {
      expect((err as Error).message).toContain('GATEWAY_SECRET_KEY');
      expect((err as Error).message).not.toContain('very-secret');
    }
  });

  it('rotation: the previous key still opens its boxes, new boxes use the current key, old ones ask to be resealed', () => {
    const oldKey = key();
    const newKey = key();
    const oldBox = new SecretBox(oldKey).seal(PLAIN);
    const rotating = new SecretBox(newKey, oldKey);
    expect(rotating.open(oldBox)).toBe(PLAIN);
    expect(rotating.needsResealing(oldBox)).toBe(true);
    const resealed = rotating.seal(rotating.open(oldBox));
    expect(rotating.needsResealing(resealed)).toBe(false);
    // After the rotation the old key can go: the resealed box opens with the new key alone.
    expect(new SecretBox(newKey).open(resealed)).toBe(PLAIN);
    expect(() => new SecretBox(newKey).open(oldBox)).toThrow(/GATEWAY_SECRET_KEY/);
  });

  it('detects tampering with the ciphertext, the tag, the iv or the header', () => {
    const k = key();
    const box = new SecretBox(k);
    const sealed = box.seal(PLAIN);
    const parts = sealed.split('.');
    const flip = (text: string) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      return bytes.toString('base64url');
    };
    for (const at of [2, 3, 4]) {
      const changed = [...parts];
      changed[at] = flip(changed[at]!);
      expect(() => box.open(changed.join('.'))).toThrow(SecretBoxError);
    }
    expect(() => box.open(`v2.${parts.slice(1).join('.')}`)).toThrow(/format/);
    expect(() => box.open('garbage')).toThrow(SecretBoxError);
  });

  it('reads 32-byte keys as hex or base64 (standard or url alphabet) and nothing else', () => {
    const bytes = key();
    expect(parseSecretKey(bytes.toString('hex'))?.equals(bytes)).toBe(true);
    expect(parseSecretKey(bytes.toString('base64'))?.equals(bytes)).toBe(true);
    expect(parseSecretKey(bytes.toString('base64url'))?.equals(bytes)).toBe(true);
    expect(parseSecretKey('too-short')).toBeUndefined();
    expect(parseSecretKey(Buffer.alloc(16).toString('hex'))).toBeUndefined();
  });
});

describe('GATEWAY_SECRET_KEY in the configuration', () => {
  it('is validated: a wrong value is one line naming the variable, never echoing it', () => {
    expect(() => loadConfig({ GATEWAY_SECRET_KEY: 'not-a-key-at-all' })).toThrow(/GATEWAY_SECRET_KEY: expected 32 bytes/);
    try {
      loadConfig({ GATEWAY_SECRET_KEY_PREVIOUS: 'not-a-key-at-all' });
    } catch (err) {
      expect((err as Error).message).toMatch(/GATEWAY_SECRET_KEY_PREVIOUS/);
      expect((err as Error).message).not.toContain('not-a-key-at-all');
    }
    const good = newSecretKey();
    const config = loadConfig({ GATEWAY_SECRET_KEY: good });
    expect(config.gatewaySecretKey?.reveal()).toBe(good);
    expect(JSON.stringify(config)).not.toContain(good);
  });
});

describe('openSecretBox', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('simulator mode without a key: generates one beside the data directory (0600) and reuses it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-key-'));
    dirs.push(dir);
    const config = loadConfig({ PGLITE_DATA_DIR: join(dir, 'pglite') });
    const warnings: string[] = [];
    const log = { warn: (...args: unknown[]) => warnings.push(String(args.at(-1))) } as unknown as Parameters<typeof openSecretBox>[1];
    const first = await openSecretBox(config, log);
    const path = generatedKeyPath(config.pgliteDataDir);
    expect(path).toBe(join(dir, 'pglite.secret-key'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(warnings).toHaveLength(1);
    const sealed = first!.seal(PLAIN);
    const second = await openSecretBox(config);
    expect(second!.open(sealed)).toBe(PLAIN);
    expect(parseSecretKey(readFileSync(path, 'utf8'))).toBeDefined();
    // The same directory written as PGlite's file:// URL has the same key file.
    expect(generatedKeyPath(`file://${join(dir, 'pglite')}`)).toBe(path);
  });

  it('simulator mode with memory:// keeps a key for the process only; live mode without a key has none', async () => {
    expect(await openSecretBox(loadConfig({ PGLITE_DATA_DIR: 'memory://' }))).toBeInstanceOf(SecretBox);
    const live = loadConfig({
      UMS_BASE_URL: 'http://127.0.0.1:1',
      UMS_APP_ID: 'a',
      UMS_APP_KEY: 'k',
      UMS_NOTIFY_KEY: 'n',
      UMS_SOURCE_ID: '1A2B',
      UMS_MID: '898310060514001',
      UMS_TID: '00000001',
      GATEWAY_API_KEYS: 'sk:admin',
    });
    expect(await openSecretBox(live)).toBeUndefined();
    const withKey = await openSecretBox({ ...live, gatewaySecretKey: loadConfig({ GATEWAY_SECRET_KEY: newSecretKey() }).gatewaySecretKey });
    expect(withKey).toBeInstanceOf(SecretBox);
  });
});
