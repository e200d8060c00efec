/** The envelope of every `/v1/netpay/*` answer (PROTOCOL.md §5.1). */
import { dateTime } from './clock.js';
import type { ErrCode, JsonObject } from './types.js';

/** Echoed request fields plus errCode/errMsg/errInfo and responseTimestamp around `fields`. */
export function envelope(
  request: JsonObject,
  now: Date,
  errCode: ErrCode | string,
  message: string,
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  const echo: Record<string, unknown> = {};
  for (const name of ['msgId', 'srcReserve', 'mid', 'tid', 'instMid']) {
    if (typeof request[name] === 'string' && request[name] !== '') echo[name] = request[name];
  }
  return { errCode, errMsg: message, errInfo: message, responseTimestamp: dateTime(now), ...echo, ...fields };
}
