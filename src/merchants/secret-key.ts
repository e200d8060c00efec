/**
 * Which key the secret box uses (CONTRACT.md GATEWAY_SECRET_KEY):
 * - GATEWAY_SECRET_KEY (and GATEWAY_SECRET_KEY_PREVIOUS during a rotation) when set;
 * - simulator mode without it: a generated key, kept beside the embedded database's data directory
 *   (`<dir>.secret-key`, mode 0600) so merchants survive a restart, or for this process only
 *   (`memory://`, or a DATABASE_URL: the demo's key must never be shared through a server) — with
 *   one warning line;
 * - live mode without it: none. Merchants beyond `default` cannot be stored (createMerchant says
 *   so) and stored ones cannot be used.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { newSecretKey, parseSecretKey, SecretBox, SecretBoxError } from './secret-box.js';

export type SecretKeyConfig = Pick<Config, 'gatewaySecretKey' | 'gatewaySecretKeyPrevious' | 'umsBaseUrl' | 'databaseUrl' | 'pgliteDataDir'>;

/** Where simulator mode keeps its generated key for a PGlite data directory. */
export function generatedKeyPath(pgliteDataDir: string): string {
  // `file://` is PGlite's on-disk scheme too (db/database.ts): the directory is the path after it.
  const path = pgliteDataDir.startsWith('file://') ? pgliteDataDir.slice('file://'.length) : pgliteDataDir;
  const dir = path.replace(/\/+$/, '');
  return join(dirname(dir), `${basename(dir)}.secret-key`);
}

export async function openSecretBox(config: SecretKeyConfig, log?: Logger): Promise<SecretBox | undefined> {
  const previous = config.gatewaySecretKeyPrevious ? parseSecretKey(config.gatewaySecretKeyPrevious.reveal()) : undefined;
  if (config.gatewaySecretKey) {
    const current = parseSecretKey(config.gatewaySecretKey.reveal());
    if (!current) throw new SecretBoxError('GATEWAY_SECRET_KEY: expected 32 bytes as base64 or hex');
    return new SecretBox(current, previous);
  }
  if (config.umsBaseUrl !== undefined) return undefined;

  // As db/database.ts decides: only a plain path or file:// is on disk (memory://, idb:// keep nothing).
  const onDisk = !config.pgliteDataDir.includes('://') || config.pgliteDataDir.startsWith('file://');
  const inMemory = config.databaseUrl !== undefined || !onDisk;
  if (inMemory) {
    log?.warn('GATEWAY_SECRET_KEY is unset: merchant secrets are encrypted with a key generated for this process only (simulator mode)');
    return new SecretBox(parseSecretKey(newSecretKey())!, previous);
  }
  const path = generatedKeyPath(config.pgliteDataDir);
  const key = await readOrCreate(path);
  log?.warn({ path }, 'GATEWAY_SECRET_KEY is unset: merchant secrets are encrypted with a generated key kept beside the database (simulator mode)');
  return new SecretBox(key, previous);
}

async function readOrCreate(path: string): Promise<Buffer> {
  try {
    const existing = parseSecretKey(await readFile(path, 'utf8'));
    if (!existing) throw new SecretBoxError(`the generated secret key file ${path} is not a 32-byte key: remove it or set GATEWAY_SECRET_KEY`);
    return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true });
  const text = newSecretKey();
  try {
    // 'wx': never overwrite a key another process wrote meanwhile (its boxes would become unreadable).
    await writeFile(path, `${text}\n`, { mode: 0o600, flag: 'wx' });
    return parseSecretKey(text)!;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readOrCreate(path);
    throw err;
  }
}
