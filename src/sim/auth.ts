/**
 * The simulator's own request authentication, as PROTOCOL.md says UMS does it: OPEN-BODY-SIG
 * (§1), OPEN-ACCESS-TOKEN (§2) and OPEN-FORM-PARAM (§3). Only the signature algorithm itself comes
 * from src/ums/sign.ts; parsing and every decision here are the simulator's.
 */
import { timingSafeEqual } from 'node:crypto';
import { openSignature } from '../ums/sign.js';
import { parseCompact } from './clock.js';
import { SimRejection, badSign } from './errors.js';
import type { TokenStore } from './tokens.js';

export interface AuthContext {
  /** The key of an app the simulator serves (sim/merchants.ts); undefined: unknown appId. */
  appKeyOf: (appId: string) => string | undefined;
  maxClockSkewMs: number;
  now: () => Date;
  tokens: TokenStore;
}

export interface OpenBodySig {
  appId: string;
  timestamp: string;
  nonce: string;
  signature: string;
}

/**
 * Tolerant parse (§1.2): scheme `OPEN-BODY-SIG`, then `Name="value"` pairs split on commas with or
 * without a space, names matched case-insensitively, quotes optional. `undefined` when it is not
 * this scheme or a pair is missing.
 */
export function parseOpenBodySig(header: string): OpenBodySig | undefined {
  const m = /^\s*OPEN-BODY-SIG\s+(.*)$/is.exec(header);
  if (!m) return undefined;
  const pairs = new Map<string, string>();
  for (const part of m[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    // The Base64 signature may end in '=': only the first '=' separates name from value.
    const value = part.slice(eq + 1).trim().replace(/^"(.*)"$/s, '$1');
    if (!pairs.has(name)) pairs.set(name, value);
  }
  const appId = pairs.get('appid');
  const timestamp = pairs.get('timestamp');
  const nonce = pairs.get('nonce');
  const signature = pairs.get('signature');
  if (!appId || !timestamp || !nonce || !signature) return undefined;
  return { appId, timestamp, nonce, signature };
}

/** `OPEN-ACCESS-TOKEN AccessToken=<token>`, quoted or not (§2.3). */
export function parseAccessToken(header: string): string | undefined {
  const m = /^\s*OPEN-ACCESS-TOKEN\s+AccessToken\s*=\s*(.+?)\s*$/i.exec(header);
  if (!m) return undefined;
  const token = m[1]!.replace(/^"(.*)"$/, '$1');
  return token === '' ? undefined : token;
}

/** |now − timestamp| within the allowed skew, else ABNORMAL_REQUEST_TIME (§1.3). */
export function checkTimestamp(timestamp: string, ctx: AuthContext): void {
  const at = parseCompact(timestamp);
  if (!at) throw new SimRejection('ABNORMAL_REQUEST_TIME', 'timestamp must be yyyyMMddHHmmss (Beijing time)', 401);
  if (Math.abs(ctx.now().getTime() - at.getTime()) > ctx.maxClockSkewMs) {
    throw new SimRejection('ABNORMAL_REQUEST_TIME', '请求时间异常: timestamp too far from the server clock', 401);
  }
}

/** Constant-time comparison of two secrets-derived strings. */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks appId, clock and the HMAC over `body`, the exact bytes received (or the raw content). */
export function checkOpenSignature(sig: OpenBodySig, body: Uint8Array | string, ctx: AuthContext): void {
  const appKey = ctx.appKeyOf(sig.appId);
  if (appKey === undefined) throw badSign('unknown AppId');
  checkTimestamp(sig.timestamp, ctx);
  const want = openSignature({ appId: sig.appId, appKey, timestamp: sig.timestamp, nonce: sig.nonce, body });
  if (!sameText(sig.signature, want)) throw badSign('签名错误: signature does not match the request body');
}

/** Authenticates a POST of the Open API: OPEN-BODY-SIG or OPEN-ACCESS-TOKEN. Returns the caller's appId. */
export function authenticate(authorization: string | undefined, rawBody: Uint8Array, ctx: AuthContext): string {
  if (!authorization) throw badSign('missing Authorization header');
  const sig = parseOpenBodySig(authorization);
  if (sig) {
    checkOpenSignature(sig, rawBody, ctx);
    return sig.appId;
  }
  if (/^\s*OPEN-BODY-SIG\b/i.test(authorization)) {
    throw badSign('malformed OPEN-BODY-SIG header: expected AppId, Timestamp, Nonce and Signature');
  }
  const token = parseAccessToken(authorization);
  if (token !== undefined) {
    const state = ctx.tokens.check(token);
    if (state === 'valid') return ctx.tokens.appIdOf(token) ?? '';
    throw badSign(state === 'expired' ? 'AccessToken expired' : 'invalid AccessToken');
  }
  throw badSign('unsupported Authorization scheme (expected OPEN-BODY-SIG or OPEN-ACCESS-TOKEN)');
}

/**
 * OPEN-FORM-PARAM (§3): the browser's GET carries the signature in the query. Returns the raw
 * `content` string that was signed. URLSearchParams decodes `+` as space, exactly once, as the
 * Java servlet on the UMS side does.
 */
export function checkFormParam(query: URLSearchParams, ctx: AuthContext): string {
  if (query.get('authorization') !== 'OPEN-FORM-PARAM') {
    throw badSign('authorization must be OPEN-FORM-PARAM');
  }
  const appId = query.get('appId');
  const timestamp = query.get('timestamp');
  const nonce = query.get('nonce');
  const content = query.get('content');
  const signature = query.get('signature');
  if (!appId || !nonce || !signature || content === null) {
    throw new SimRejection('1000', '参数解析失败: appId, timestamp, nonce, content and signature are required', 400);
  }
  if (!timestamp || !parseCompact(timestamp)) throw new SimRejection('1000', 'Timestamp解析失败', 400);
  checkOpenSignature({ appId, timestamp, nonce, signature }, content, ctx);
  return content;
}
