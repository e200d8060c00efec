/**
 * Field checks every `/v1/netpay/*` request goes through (PROTOCOL.md §5.1): required fields,
 * requestTimestamp format, the merchant's mid/tid, amounts in fen, and merchant order numbers that
 * start with the source number. Ids and amounts follow the gateway's own rules (ums/ids.ts,
 * ums/amounts.ts), the loosest PROTOCOL.md allows, so the simulator never refuses what UMS takes.
 * Free text is taken as UMS takes it: `&` and `=` included, echoed back unescaped.
 */
import { AMOUNT_RULE, isAmountFen } from '../ums/amounts.js';
import { ORDER_ID_RULE, isOrderIdFor } from '../ums/ids.js';
import { parseDate, parseDateTime } from './clock.js';
import { SimRejection, badRequest } from './errors.js';
import type { JsonObject } from './types.js';

export interface MerchantIds {
  mid: string;
  tid: string;
  sourceId: string;
}

/** A string field; numbers are accepted and read as their decimal text (clients send both). */
export function optionalText(body: JsonObject, name: string, max = 255): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') throw badRequest(`${name} must be a string`);
  if (value.length > max) throw badRequest(`${name} is longer than ${max} characters`);
  return value;
}

/** notifyUrl / returnUrl: an http(s) URL when present. */
export function optionalUrl(body: JsonObject, name: string): string | undefined {
  const value = optionalText(body, name);
  if (value !== undefined && !/^https?:\/\/\S+$/.test(value)) throw badRequest(`${name} must be an http(s) URL`);
  return value;
}

export function requiredText(body: JsonObject, name: string, max = 255): string {
  const value = optionalText(body, name, max);
  if (value === undefined) throw badRequest(`${name} is required`);
  return value;
}

/** requestTimestamp, mid, tid (and their values), instMid present. Returns the instMid. */
export function checkCommon(body: JsonObject, merchant: MerchantIds): string {
  const requestTimestamp = requiredText(body, 'requestTimestamp', 19);
  if (!parseDateTime(requestTimestamp)) throw badRequest('requestTimestamp must be yyyy-MM-dd HH:mm:ss');
  const mid = requiredText(body, 'mid', 32);
  const tid = requiredText(body, 'tid', 32);
  if (mid !== merchant.mid) throw new SimRejection('NO_MERCHANT', `商户不存在: unknown mid ${mid}`);
  if (tid !== merchant.tid) throw new SimRejection('NO_MERCHANT', `终端不存在: unknown tid ${tid} for this merchant`);
  optionalText(body, 'msgId', 64);
  optionalText(body, 'srcReserve', 255);
  return requiredText(body, 'instMid', 32);
}

export function checkInstMid(instMid: string, allowed: readonly string[]): void {
  if (!allowed.includes(instMid)) {
    throw badRequest(`instMid ${instMid} is not valid for this API (expected ${allowed.join(' or ')})`);
  }
}

/**
 * merOrderId / billNo / refundOrderId: the source prefix UMS insists on, then the gateway's one
 * order-id rule (ums/ids.ts, 6..64 letters or digits; real UMS accepts 36). INVALID_ORDER otherwise.
 */
export function merchantOrderId(body: JsonObject, name: string, merchant: MerchantIds): string {
  // The length is the id rule's to judge (INVALID_ORDER), not the generic text limit's.
  const id = requiredText(body, name);
  if (!id.startsWith(merchant.sourceId)) {
    throw new SimRejection('INVALID_ORDER', `无效订单号，订单号必须以${merchant.sourceId}开头 (${name})`);
  }
  if (!isOrderIdFor(merchant.sourceId, id)) {
    throw new SimRejection('INVALID_ORDER', `${name} must be ${ORDER_ID_RULE}, starting with the source number`);
  }
  return id;
}

/** An amount in fen (ums/amounts.ts), as a JSON number or a string of digits. */
export function amount(body: JsonObject, name: string): number {
  const value = body[name];
  if (value === undefined || value === null || value === '') throw badRequest(`${name} is required`);
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (!isAmountFen(n)) throw badRequest(`${name} must be ${AMOUNT_RULE}`);
  return n;
}

/** expireTime (yyyy-MM-dd HH:mm:ss) in the future, or the default lifetime of 30 minutes. */
export function expiry(body: JsonObject, now: Date): Date {
  const text = optionalText(body, 'expireTime', 19);
  if (text === undefined) return new Date(now.getTime() + 30 * 60 * 1000);
  const at = parseDateTime(text);
  if (!at) throw badRequest('expireTime must be yyyy-MM-dd HH:mm:ss');
  if (at.getTime() <= now.getTime()) throw badRequest('expireTime is in the past');
  return at;
}

/** A split's shares: `platformAmount` and `subOrders` [{mid, totalAmount}] (1..20, distinct mids). */
export function division(body: JsonObject): { platformAmount: number; subOrders: { mid: string; totalAmount: number }[] } {
  const share = (value: unknown, name: string): number => {
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (n !== 0 && !isAmountFen(n)) throw badRequest(`${name} must be whole fen, 0 or more`);
    return n as number;
  };
  if (body.platformAmount === undefined || body.platformAmount === null) throw badRequest('platformAmount is required with divisionFlag');
  const platformAmount = share(body.platformAmount, 'platformAmount');
  const list = body.subOrders;
  if (!Array.isArray(list) || list.length === 0 || list.length > 20) throw badRequest('subOrders must list 1 to 20 sub-merchants');
  const seen = new Set<string>();
  const subOrders = list.map((raw: unknown, i) => {
    const s = (raw ?? {}) as JsonObject;
    if (typeof s.mid !== 'string' || !/^[0-9A-Za-z]{8,32}$/.test(s.mid)) throw badRequest(`subOrders[${i}].mid must be a merchant number`);
    if (seen.has(s.mid)) throw badRequest(`subOrders names ${s.mid} twice`);
    seen.add(s.mid);
    return { mid: s.mid, totalAmount: share(s.totalAmount, `subOrders[${i}].totalAmount`) };
  });
  return { platformAmount, subOrders };
}

export function billDate(body: JsonObject): string {
  const text = requiredText(body, 'billDate', 10);
  if (!parseDate(text)) throw badRequest('billDate must be yyyy-MM-dd');
  return text;
}

/** Some deployments wrap the business fields as `{"data": {...}}` (the seed's needDataTag). */
export function unwrapData(body: JsonObject): JsonObject {
  const keys = Object.keys(body);
  const data = body.data;
  if (keys.length === 1 && keys[0] === 'data' && data && typeof data === 'object' && !Array.isArray(data)) {
    return data as JsonObject;
  }
  return body;
}
