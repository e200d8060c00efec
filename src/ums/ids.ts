/**
 * Merchant order numbers (merOrderId, refundOrderId, billNo): the 4-character source number,
 * then Beijing `yyyyMMddHHmmssSSS`, then 6 random alphanumerics: 27 characters, inside the
 * 7..27 range that every source accepts (PROTOCOL.md §5.1).
 */
import { randomInt } from 'node:crypto';
import { beijingCompactMillis } from './time.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SOURCE_ID = /^[0-9A-Za-z]{4}$/;

// Ids handed out in the current millisecond: a repeat is drawn again, so one process never
// issues the same id twice; across processes 62^6 random suffixes per millisecond keep the odds
// negligible, and the database's unique keys catch the rest.
let issuedAt = '';
const issued = new Set<string>();

export function generateOrderId(sourceId: string, at: Date = new Date()): string {
  if (!SOURCE_ID.test(sourceId)) {
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

/** True when `id` is a well-formed merchant order number for this source (prefix, 7..32 chars). */
export function isOrderIdFor(sourceId: string, id: string): boolean {
  return id.startsWith(sourceId) && /^[0-9A-Za-z]{7,32}$/.test(id);
}
