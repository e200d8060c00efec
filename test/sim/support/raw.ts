/**
 * An independent UMS client for the simulator's tests: every signature is computed here with
 * node:crypto from PROTOCOL.md, not with src/ums/sign.ts or the simulator's code, so one
 * misunderstanding cannot hide on both sides.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { DEMO } from '../../../src/config.js';

export const CREDS = { ...DEMO };

/** Beijing time as `yyyyMMddHHmmss` and `yyyy-MM-dd HH:mm:ss`. */
export function beijing(at: Date = new Date()): { compact: string; dateTime: string; date: string } {
  const iso = new Date(at.getTime() + 8 * 3600_000).toISOString(); // 2024-06-18T10:30:15.000Z
  const dateTime = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return { compact: dateTime.replace(/[- :]/g, ''), dateTime, date: iso.slice(0, 10) };
}

export function hmacSignature(appId: string, appKey: string, timestamp: string, nonce: string, body: string | Buffer): string {
  const digest = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', appKey).update(appId + timestamp + nonce + digest, 'utf8').digest('base64');
}

export interface SigOptions {
  appId?: string;
  appKey?: string;
  at?: Date;
  nonce?: string;
  /** Header spelling: the majority form, comma without space, or lower-case names without quotes. */
  style?: 'standard' | 'no-space' | 'lower-unquoted';
}

export function bodySigHeader(body: string | Buffer, o: SigOptions = {}): string {
  const appId = o.appId ?? CREDS.appId;
  const timestamp = beijing(o.at).compact;
  const nonce = o.nonce ?? randomBytes(16).toString('hex');
  const signature = hmacSignature(appId, o.appKey ?? CREDS.appKey, timestamp, nonce, body);
  if (o.style === 'no-space') return `OPEN-BODY-SIG AppId="${appId}",Timestamp="${timestamp}",Nonce="${nonce}",Signature="${signature}"`;
  if (o.style === 'lower-unquoted') return `OPEN-BODY-SIG appId=${appId}, timestamp=${timestamp}, nonce=${nonce}, signature=${signature}`;
  return `OPEN-BODY-SIG AppId="${appId}", Timestamp="${timestamp}", Nonce="${nonce}", Signature="${signature}"`;
}

export interface RawAnswer {
  status: number;
  json: Record<string, unknown>;
  text: string;
  headers: Headers;
}

export async function rawPost(url: string, body: string | Buffer, authorization?: string): Promise<RawAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* plain answers (simulated 5xx) */
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** Signs and posts a netpay body (common fields added) with OPEN-BODY-SIG. */
export async function call(baseUrl: string, path: string, fields: Record<string, unknown>, o: SigOptions = {}): Promise<RawAnswer> {
  const body = JSON.stringify(withCommon(fields));
  return rawPost(baseUrl + path, body, bodySigHeader(body, o));
}

export function withCommon(fields: Record<string, unknown>): Record<string, unknown> {
  return { requestTimestamp: beijing().dateTime, mid: CREDS.mid, tid: CREDS.tid, ...fields };
}

let counter = 0;
/** A fresh merchant order number with the demo source prefix (27 characters). */
export function orderId(): string {
  counter += 1;
  return CREDS.sourceId + beijing().compact + String(process.pid % 1000).padStart(3, '0') + String(counter).padStart(6, '0');
}

export async function fetchToken(baseUrl: string, o: { appKey?: string; at?: Date; method?: 'SHA256' | 'SHA1' } = {}): Promise<RawAnswer> {
  const timestamp = beijing(o.at).compact;
  const nonce = randomBytes(16).toString('hex');
  const algorithm = o.method === 'SHA1' ? 'sha1' : 'sha256';
  const signature = createHash(algorithm).update(CREDS.appId + timestamp + nonce + (o.appKey ?? CREDS.appKey)).digest('hex');
  const body = JSON.stringify({ appId: CREDS.appId, timestamp, nonce, ...(o.method === 'SHA1' ? {} : { signMethod: 'SHA256' }), signature });
  return rawPost(`${baseUrl}/v1/token/access`, body);
}

/** java.net.URLEncoder-style form encoding of one value. */
function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

/** An OPEN-FORM-PARAM URL (§3) for an H5 pay page. */
export function formParamUrl(baseUrl: string, path: string, content: string, o: SigOptions = {}): string {
  const appId = o.appId ?? CREDS.appId;
  const timestamp = beijing(o.at).compact;
  const nonce = o.nonce ?? randomBytes(16).toString('hex');
  const signature = hmacSignature(appId, o.appKey ?? CREDS.appKey, timestamp, nonce, content);
  const q = [['authorization', 'OPEN-FORM-PARAM'], ['appId', appId], ['timestamp', timestamp], ['nonce', nonce], ['content', content], ['signature', signature]]
    .map(([k, v]) => `${k}=${formEncode(v!)}`)
    .join('&');
  return `${baseUrl}${path}?${q}`;
}

/** §4.2 recomputed independently: drop sign and empty values, byte-order sort, append key, digest. */
export function independentNotifySign(fields: Record<string, string>, key: string): string {
  const names = Object.keys(fields)
    .filter((n) => n !== 'sign' && fields[n] !== '')
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const text = names.map((n) => `${n}=${fields[n]}`).join('&') + key;
  const algorithm = fields.signType === 'MD5' ? 'md5' : 'sha256';
  return createHash(algorithm).update(text, 'utf8').digest('hex').toUpperCase();
}
