/**
 * Standard Webhooks verification, as a receiver does it (the echo receiver, and the README's
 * example for merchants): the signature of `${id}.${timestamp}.${body}` under the secret must be
 * among those in webhook-signature, and the timestamp within a tolerance (replays are refused).
 */
import { timingSafeEqual } from 'node:crypto';
import { signatureOf } from './signing.js';

export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export function verifyWebhook(
  secret: string,
  headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): { ok: true } | { ok: false; reason: string } {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  const ts = Number(timestamp);
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - ts) > toleranceSeconds) return { ok: false, reason: 'timestamp outside the tolerance' };
  const expected = Buffer.from(signatureOf(secret, id, ts, body));
  const match = signature.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return match ? { ok: true } : { ok: false, reason: 'no signature matches' };
}
