/**
 * Every signature of the UMS protocol, in one place (PROTOCOL.md §1–§4). The client, the notify
 * endpoint and the simulator all call these; none of them signs anything on its own.
 *
 * Two secrets exist and must never be confused: the open-platform `appKey` (OPEN-BODY-SIG, token,
 * OPEN-FORM-PARAM) and the communication key (通讯密钥, "md5Key") that signs notifications.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type Bytes = string | Uint8Array;

/** Lower-case hex SHA-256 of UTF-8 text or raw bytes. */
export function sha256Hex(data: Bytes): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A fresh nonce: 32 lower-case hex characters from the CSPRNG (§1.4). */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

// ---------------------------------------------------------------------------------------------
// §1 OPEN-BODY-SIG and §3 OPEN-FORM-PARAM share one signature.

export interface OpenSignInput {
  appId: string;
  appKey: string;
  /** `yyyyMMddHHmmss`, Beijing time. */
  timestamp: string;
  nonce: string;
  /** The exact bytes sent (POST body) or the raw `content` string (OPEN-FORM-PARAM). */
  body: Bytes;
}

/** The string that is HMAC'd: appId + timestamp + nonce + lowerhex(SHA-256(body)). */
export function openStringToSign(input: Omit<OpenSignInput, 'appKey'>): string {
  return input.appId + input.timestamp + input.nonce + sha256Hex(input.body);
}

/** Base64(HMAC-SHA256(appKey, stringToSign)), standard alphabet with padding. */
export function openSignature(input: OpenSignInput): string {
  return createHmac('sha256', input.appKey).update(openStringToSign(input), 'utf8').digest('base64');
}

/** The Authorization header value, in the majority spelling (comma + space, capitalised names). */
export function openBodySigHeader(input: OpenSignInput): string {
  const signature = openSignature(input);
  return (
    `OPEN-BODY-SIG AppId="${input.appId}", Timestamp="${input.timestamp}", ` +
    `Nonce="${input.nonce}", Signature="${signature}"`
  );
}

/**
 * `java.net.URLEncoder.encode(s, "UTF-8")`: unreserved are `A-Z a-z 0-9 . - * _`, space becomes
 * `+`, everything else is %XX of its UTF-8 bytes (upper-case hex). UMS failed to parse RFC 3986
 * `%20` in one report (§3), so every OPEN-FORM-PARAM value goes through this.
 */
export function javaUrlEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

export interface FormParamInput extends Omit<OpenSignInput, 'body'> {
  /** e.g. `https://test-api-open.chinaums.com` (no trailing slash needed). */
  baseUrl: string;
  /** e.g. `/v1/netpay/trade/h5-pay`. */
  path: string;
  /** The business JSON, signed as this exact string. */
  content: string;
}

/** The signed GET URL that a browser opens for H5 payments (§3). */
export function formParamUrl(input: FormParamInput): string {
  const signature = openSignature({ ...input, body: input.content });
  const params: [string, string][] = [
    ['authorization', 'OPEN-FORM-PARAM'],
    ['appId', input.appId],
    ['timestamp', input.timestamp],
    ['nonce', input.nonce],
    ['content', input.content],
    ['signature', signature],
  ];
  const query = params.map(([k, v]) => `${k}=${javaUrlEncode(v)}`).join('&');
  return `${input.baseUrl.replace(/\/+$/, '')}${input.path}?${query}`;
}

// ---------------------------------------------------------------------------------------------
// §2 Token request.

export type TokenSignMethod = 'SHA256' | 'SHA1';

/** lowerhex(SHA-256 or SHA-1 of appId + timestamp + nonce + appKey); signMethod is not signed. */
export function tokenSignature(input: {
  appId: string;
  appKey: string;
  timestamp: string;
  nonce: string;
  method?: TokenSignMethod;
}): string {
  const algorithm = input.method === 'SHA1' ? 'sha1' : 'sha256';
  return createHash(algorithm)
    .update(input.appId + input.timestamp + input.nonce + input.appKey, 'utf8')
    .digest('hex');
}

// ---------------------------------------------------------------------------------------------
// §4.2 Key-appended sign of notifications (and of the legacy API).

export type NotifySignType = 'MD5' | 'SHA256';

/** Drop `sign` and empty-string values, sort names by byte order, join raw `name=value` with `&`. */
export function notifySigningString(fields: Readonly<Record<string, string>>): string {
  const names = Object.keys(fields).filter((name) => name !== 'sign' && fields[name] !== '');
  // JS compares strings by UTF-16 code unit, which is UTF-8 byte order for every name without a
  // surrogate (UMS's names are ASCII): only a name with one needs the byte comparison, which
  // allocates two buffers per comparison (a third of the cost of checking a notification).
  names.sort(names.some(hasSurrogate) ? compareBytes : undefined);
  let text = '';
  for (const [i, name] of names.entries()) text += `${i === 0 ? '' : '&'}${name}=${fields[name]}`;
  return text;
}

const SURROGATE = /[\ud800-\udfff]/;

function hasSurrogate(name: string): boolean {
  return SURROGATE.test(name);
}

/** Upper-case hex digest of signingString + key, MD5 or SHA-256. */
export function notifySign(
  fields: Readonly<Record<string, string>>,
  key: string,
  signType: NotifySignType,
): string {
  const algorithm = signType === 'MD5' ? 'md5' : 'sha256';
  return createHash(algorithm)
    .update(notifySigningString(fields) + key, 'utf8')
    .digest('hex')
    .toUpperCase();
}

/**
 * Which algorithm a received notification claims: its `signType` when that is MD5 or SHA256, else
 * inferred from the length of `sign` (32 hex → MD5, 64 → SHA256). `undefined` when neither works.
 */
export function notifySignTypeOf(fields: Readonly<Record<string, string>>): NotifySignType | undefined {
  const declared = fields.signType?.toUpperCase();
  if (declared === 'MD5' || declared === 'SHA256') return declared;
  if (declared !== undefined && declared !== '') return undefined;
  const sign = fields.sign ?? '';
  if (/^[0-9a-fA-F]{32}$/.test(sign)) return 'MD5';
  if (/^[0-9a-fA-F]{64}$/.test(sign)) return 'SHA256';
  return undefined;
}

export type NotifyVerdict =
  | { ok: true; signType: NotifySignType; keyIndex: number }
  | { ok: false; reason: 'missing-sign' | 'unknown-sign-type' | 'mismatch'; signType?: NotifySignType };

/**
 * Verifies a decoded notification against one or more communication keys (current first, then
 * the previous one during a rotation). Case-insensitive, constant-time comparison.
 */
export function verifyNotifySign(
  fields: Readonly<Record<string, string>>,
  keys: readonly string[],
): NotifyVerdict {
  const received = fields.sign;
  if (received === undefined || received === '') return { ok: false, reason: 'missing-sign' };
  const signType = notifySignTypeOf(fields);
  if (!signType) return { ok: false, reason: 'unknown-sign-type' };
  const got = Buffer.from(received.toUpperCase(), 'utf8');
  for (const [keyIndex, key] of keys.entries()) {
    const want = Buffer.from(notifySign(fields, key, signType), 'utf8');
    if (got.length === want.length && timingSafeEqual(got, want)) return { ok: true, signType, keyIndex };
  }
  return { ok: false, reason: 'mismatch', signType };
}

/** Byte-order (UTF-16 code unit order equals byte order for the ASCII names UMS uses). */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
