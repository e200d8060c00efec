/**
 * The secret box: merchant secrets encrypted at rest with AES-256-GCM under GATEWAY_SECRET_KEY
 * (node:crypto), in a versioned text format so the key can be rotated:
 *
 *   v1.<keyId>.<iv>.<tag>.<ciphertext>      (each part base64url; keyId: first 8 bytes of SHA-256(key))
 *
 * The key id says which key sealed a box, so during a rotation (GATEWAY_SECRET_KEY = new key,
 * GATEWAY_SECRET_KEY_PREVIOUS = old key) each box is opened with the key that sealed it, and new
 * boxes are always sealed with the current key. `needsResealing` tells the registry which boxes
 * to seal again (it does so at start: README "Several merchants"). GCM's tag makes any change to
 * a box (or the wrong key) fail loudly instead of yielding garbage. Errors name the variable,
 * never a key or a plaintext.
 */
import { createHmac, createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

/** A box could not be opened (wrong key, tampered, malformed). Says which variable to check. */
export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

/**
 * 32 bytes written as base64 (44 characters, standard or url alphabet) or hex (64 characters);
 * undefined for anything else. Used by config.ts to validate the variable.
 */
export function parseSecretKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const bytes = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === SECRET_KEY_BYTES) return bytes;
  }
  return undefined;
}

/** A fresh key in the format parseSecretKey reads (base64). */
export function newSecretKey(): string {
  return randomBytes(SECRET_KEY_BYTES).toString('base64');
}

/** The id a box carries for the key that sealed it: not secret (a truncated hash), just a label. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url');
}

interface BoxKey {
  id: string;
  key: Buffer;
  /** The variable that holds it, for error messages. */
  variable: string;
}

export class SecretBox {
  readonly #current: BoxKey;
  readonly #keys: Map<string, BoxKey>;

  /** `current`: GATEWAY_SECRET_KEY; `previous`: GATEWAY_SECRET_KEY_PREVIOUS during a rotation. */
  constructor(current: Buffer, previous?: Buffer) {
    if (current.length !== SECRET_KEY_BYTES) throw new SecretBoxError('GATEWAY_SECRET_KEY: expected 32 bytes');
    this.#current = { id: keyIdOf(current), key: current, variable: 'GATEWAY_SECRET_KEY' };
    this.#keys = new Map([[this.#current.id, this.#current]]);
    if (previous) {
      if (previous.length !== SECRET_KEY_BYTES) throw new SecretBoxError('GATEWAY_SECRET_KEY_PREVIOUS: expected 32 bytes');
      const id = keyIdOf(previous);
      if (!this.#keys.has(id)) this.#keys.set(id, { id, key: previous, variable: 'GATEWAY_SECRET_KEY_PREVIOUS' });
    }
  }

  /** The id of the current key (what new boxes carry). */
  get keyId(): string {
    return this.#current.id;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    // The header is authenticated too: a box cannot be relabelled as another version or key.
    cipher.setAAD(Buffer.from(`${VERSION}.${this.#current.id}`));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.#current.id, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  open(box: string): string {
    const parts = box.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) {
      throw new SecretBoxError('a stored secret is not in a known format (expected v1.<keyId>.<iv>.<tag>.<ciphertext>)');
    }
    const [, keyId, ivText, tagText, dataText] = parts as [string, string, string, string, string];
    const key = this.#keys.get(keyId);
    if (!key) {
      throw new SecretBoxError(
        `a stored secret was encrypted with another key (key id ${keyId}): set GATEWAY_SECRET_KEY (or GATEWAY_SECRET_KEY_PREVIOUS during a rotation) to the key it was encrypted with`,
      );
    }
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('a stored secret is malformed (iv or tag of the wrong size)');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
      decipher.setAAD(Buffer.from(`${VERSION}.${keyId}`));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(dataText, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(`a stored secret failed its integrity check under ${key.variable} (altered, or sealed with another key of the same id)`);
    }
  }

  /** True when `box` was sealed with a key other than the current one (seal it again). */
  /**
   * A key for another purpose (HMAC-SHA256 of `label` under the current key), so the one variable
   * serves several rooms without one key doing two jobs. It changes when the key is rotated.
   */
  derive(label: string): Buffer {
    return createHmac('sha256', this.#current.key).update(label, 'utf8').digest();
  }

  needsResealing(box: string): boolean {
    return box.split('.')[1] !== this.#current.id;
  }
}
