/**
 * An interim SecretBox (secret-box.ts) until the merchants room's box (src/merchants/
 * secret-box.ts) replaces it at merge: AES-256-GCM under GATEWAY_SECRET_KEY (32 bytes, base64 or
 * hex). Without a key: in simulator mode a key for this process only (sealed secrets do not
 * survive a restart, with a warning); in live mode none, and storing a secret is refused.
 *
 * Sealed text: `v1.<iv base64url>.<tag base64url>.<ciphertext base64url>`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretBox } from './secret-box.js';

/** Thrown when there is no key to seal with (live mode without GATEWAY_SECRET_KEY). */
export class NoSecretKeyError extends Error {
  override name = 'NoSecretKeyError';
}

/** The 32-byte key in `text` (base64 or hex); undefined when it is not one. */
export function parseSecretKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  const bytes = Buffer.from(trimmed, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

export class InterimSecretBox implements SecretBox {
  readonly #key: Buffer | undefined;

  constructor(key: Buffer | undefined) {
    if (key !== undefined && key.length !== 32) throw new Error('the secret key must be 32 bytes');
    this.#key = key;
  }

  /** From GATEWAY_SECRET_KEY's text; in simulator mode a process key when it is unset. */
  static fromEnvironment(keyText: string | undefined, simulatorMode: boolean, warn: (message: string) => void): InterimSecretBox {
    if (keyText !== undefined && keyText.trim() !== '') {
      const key = parseSecretKey(keyText);
      if (!key) throw new Error('GATEWAY_SECRET_KEY: expected 32 bytes, base64 or hex');
      return new InterimSecretBox(key);
    }
    if (!simulatorMode) return new InterimSecretBox(undefined);
    warn('GATEWAY_SECRET_KEY is unset: webhook secrets are sealed with a key of this process only (simulator mode)');
    return new InterimSecretBox(randomBytes(32));
  }

  seal(plain: string): string {
    const key = this.#requireKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const key = this.#requireKey();
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || iv === undefined || tag === undefined || body === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  #requireKey(): Buffer {
    if (!this.#key) throw new NoSecretKeyError('GATEWAY_SECRET_KEY must be set before webhook secrets can be stored (live mode)');
    return this.#key;
  }
}
