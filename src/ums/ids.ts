/**
 * Merchant order numbers (merOrderId, refundOrderId, billNo): one rule for the whole gateway.
 *
 * What we accept is the loosest that PROTOCOL.md §5.1 allows: letters and digits, 6 to 64
 * characters (the field annotations; sandbox answers show 29- and 36-character ids, so a real id
 * up to 36 must never be refused). What we generate is short and safe for every source: the
 * 4-character source number, then Beijing `yyyyMMddHHmmssSSS`, then 6 random alphanumerics, 27
 * characters, inside the strictest range seen ("> 6 and < 28").
 */
import { randomInt } from 'node:crypto';
import { beijingCompactMillis } from './time.js';

/** Every order number the gateway accepts, from a caller or from UMS. */
export const ORDER_ID_PATTERN = /^[0-9A-Za-z]{6,64}$/;
/** The rule in words, for error messages. */
export const ORDER_ID_RULE = '6 to 64 letters and digits';
/**
 * The longest id every source agrees on ("> 6 and < 28"): what we generate stays within it, and
 * the simulator warns (never refuses) above it.
 */
export const SHORT_ORDER_ID_MAX = 27;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SOURCE_ID = /^[0-9A-Za-z]{4}$/;

// Ids handed out in the current millisecond: a repeat is drawn again, so one process never
// issues the same id twice; across processes 62^6 random suffixes per millisecond keep the odds
// negligible, and the database's unique keys catch the rest.
let issuedAt = '';
const issued = new Set<string>();

export function isSourceId(value: string): boolean {
  return SOURCE_ID.test(value);
}

export function generateOrderId(sourceId: string, at: Date = new Date()): string {
  if (!isSourceId(sourceId)) {
    throw new TypeError(`sourceId must be 4 letters or digits, got ${JSON.stringify(sourceId)}`);
  }
  const stamp = beijingCompactMillis(at);
  if (stamp !== issuedAt) {
    issuedAt = stamp;
    issued.clear();
  }
  for (;;) {
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
    const id = sourceId + stamp + suffix;
    if (!issued.has(id)) {
      issued.add(id);
      return id;
    }
  }
}

export function isOrderId(id: unknown): id is string {
  return typeof id === 'string' && ORDER_ID_PATTERN.test(id);
}

/** True when `id` is a well-formed merchant order number for this source (its prefix, and the rule). */
export function isOrderIdFor(sourceId: string, id: string): boolean {
  return id.startsWith(sourceId) && isOrderId(id) && id.length > sourceId.length;
}
