/**
 * The text of a run-time API key, its id, and the one digest the gateway keeps of it.
 *
 * The text is `sk_live_` and 32 base62 characters (about 190 random bits), shown once by
 * `createApiKey`; only its SHA-256 is stored. A fast hash is enough here: the text is random and
 * long, so there is nothing to guess a slow hash would protect.
 */
import { createHash, randomInt } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` characters from BASE62, each drawn uniformly (randomInt has no modulo bias). */
function base62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(BASE62.length)];
  return out;
}

export const KEY_TEXT_PREFIX = 'sk_live_';

/** A fresh key text, e.g. `sk_live_3kT…` (40 characters). */
export function newKeyText(): string {
  return `${KEY_TEXT_PREFIX}${base62(32)}`;
}

/** A fresh key id, e.g. `key_7Gq…`: names the key in listings, logs and limits, reveals nothing. */
export function newKeyId(): string {
  return `key_${base62(20)}`;
}

/** SHA-256 of the key text, hex: the stored `key_hash` and the cache's lookup key. */
export function keyHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
