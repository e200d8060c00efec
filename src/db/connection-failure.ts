/**
 * Whether an error means the database could not be reached (as opposed to a statement the server
 * refused). Callers use it to avoid retrying at once what would only wait as long again.
 */

/** postgres.js's own connection codes and the socket errors Node reports. */
const CONNECTION_CODES = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * SQLSTATEs of a lost or refused connection (class 08 without 08P01, a protocol violation that
 * one message can cause), and the server shutting down or not accepting connections yet.
 */
const CONNECTION_SQLSTATES = new Set(['08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03']);

/** True when `err` (or an error it wraps, e.g. Drizzle's DrizzleQueryError) is a connection failure. */
export function isConnectionFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || CONNECTION_SQLSTATES.has(code))) return true;
  }
  return false;
}
