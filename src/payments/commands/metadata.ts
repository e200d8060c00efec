/**
 * `metadata`: the caller's own key/value data on a payment, kept by the gateway and never sent to
 * UMS (Stripe's metadata, bounded the same way): a JSON object of at most MAX_KEYS keys, each key
 * at most MAX_KEY_LENGTH characters, each value a string (at most MAX_VALUE_LENGTH), a finite
 * number, a boolean or null, and at most MAX_BYTES once serialized. Nested objects are refused:
 * they would make the bound a matter of depth as well as size.
 */
import { badInput } from '../errors.js';

export const METADATA_LIMITS = { MAX_KEYS: 50, MAX_KEY_LENGTH: 40, MAX_VALUE_LENGTH: 500, MAX_BYTES: 4096 } as const;

export type Metadata = Readonly<Record<string, string | number | boolean | null>>;

export function checkMetadata(value: unknown): asserts value is Metadata | undefined {
  if (value === undefined) return;
  const { MAX_KEYS, MAX_KEY_LENGTH, MAX_VALUE_LENGTH, MAX_BYTES } = METADATA_LIMITS;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badInput('metadata', 'metadata must be a JSON object of keys and values');
  const entries = Object.entries(value);
  if (entries.length > MAX_KEYS) throw badInput('metadata', `metadata may have at most ${MAX_KEYS} keys`);
  for (const [key, v] of entries) {
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw badInput('metadata', `metadata keys must be 1 to ${MAX_KEY_LENGTH} characters`);
    const scalar = v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string';
    if (!scalar) throw badInput('metadata', `metadata.${key} must be a string, a number, a boolean or null`);
    if (typeof v === 'string' && v.length > MAX_VALUE_LENGTH) throw badInput('metadata', `metadata.${key} is longer than ${MAX_VALUE_LENGTH} characters`);
  }
  if (Buffer.byteLength(JSON.stringify(value), 'utf8') > MAX_BYTES) throw badInput('metadata', `metadata is larger than ${MAX_BYTES} bytes once serialized`);
}
