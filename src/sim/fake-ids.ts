/**
 * Realistic-looking identifiers of the channels behind UMS: serial numbers, WeChat/Alipay/UnionPay
 * transaction ids, buyer ids. Shapes follow the samples in PROTOCOL.md's vectors.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { compact, shortDate } from './clock.js';

const DIGITS = '0123456789';
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function draw(alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** UMS serial `yyMMdd` + 5 digits + `N`, e.g. `24061800012N`. */
export function seqId(at: Date): string {
  return shortDate(at) + draw(DIGITS, 5) + 'N';
}

/** The paying channel's own transaction id. */
export function targetOrderId(targetSys: string, at: Date): string {
  if (targetSys === 'WXPay') return '4200' + draw(DIGITS, 24);
  if (targetSys.startsWith('Alipay')) return compact(at).slice(0, 8) + '22001' + draw(DIGITS, 15);
  return compact(at) + draw(DIGITS, 7);
}

export function refundTargetOrderId(at: Date): string {
  return '5030050986' + compact(at).slice(0, 8) + draw(DIGITS, 11);
}

export function buyerId(targetSys: string): string {
  if (targetSys === 'WXPay') return 'o' + draw(ALNUM, 27);
  if (targetSys.startsWith('Alipay')) return '2088' + draw(DIGITS, 12);
  return draw(DIGITS, 16);
}

/** The short random token `ns` that takes part in a notification's signature. */
export function ns(): string {
  return draw(ALNUM, 4);
}

export function notifyId(): string {
  return randomUUID();
}

export function prepayId(at: Date): string {
  return 'wx' + compact(at) + draw(ALNUM, 18);
}

export function nonceStr(): string {
  return draw(ALNUM, 32);
}

export function fakeSignature(): string {
  return randomBytes(128).toString('base64');
}

export function qrCodeId(sourceId: string, at: Date): string {
  return sourceId + shortDate(at) + draw(DIGITS, 8);
}

/** A refundOrderId when the merchant sent none: source number + time + 6 digits. */
export function generateRefundOrderId(sourceId: string, at: Date): string {
  return sourceId + compact(at) + draw(DIGITS, 6);
}

/** The paying account type (WeChat's bank_type style). */
export function bankInfo(targetSys: string): string {
  if (targetSys === 'WXPay') return 'CMB_DEBIT';
  if (targetSys.startsWith('Alipay')) return 'ALIPAYACCOUNT';
  return 'ICBC_DEBIT';
}

/** An Alipay logon name, masked as Alipay shows it. */
export function buyerUsername(): string {
  return `${draw('abcdefghijklmnopqrstuvwxyz', 3)}***@example.com`;
}

/** A masked UnionPay card number. */
export function maskedCardNo(): string {
  return `621226******${draw(DIGITS, 4)}`;
}

/** A 12-digit retrieval reference number (UnionPay transactions). */
export function refId(): string {
  return draw(DIGITS, 12);
}
