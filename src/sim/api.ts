/**
 * The Open API's routes: which handler answers which path. Authentication has already happened
 * (server.ts); handlers get the parsed JSON body and return the business fields of the answer.
 */
import { createAnswer } from './api-create.js';
import { billQueryAnswer, billRefundAnswer, closeQrCodeAnswer, getQrCodeAnswer } from './api-bills.js';
import { closeAnswer, queryAnswer, refundAnswer, refundQueryAnswer, secureCancelAnswer, secureCompleteAnswer } from './api-orders.js';
import { CHANNELS } from './channels.js';
import type { SimEngine } from './engine.js';
import type { JsonObject } from './types.js';

export type ApiHandler = (engine: SimEngine, body: JsonObject) => Record<string, unknown>;

const ROUTES = new Map<string, ApiHandler>([
  ['/v1/netpay/query', queryAnswer],
  ['/v1/netpay/refund', refundAnswer],
  ['/v1/netpay/refund-query', refundQueryAnswer],
  ['/v1/netpay/close', closeAnswer],
  ['/v1/netpay/secure-complete', secureCompleteAnswer],
  ['/v1/netpay/secure-cancel', secureCancelAnswer],
  ['/v1/netpay/bills/get-qrcode', getQrCodeAnswer],
  ['/v1/netpay/bills/query', billQueryAnswer],
  ['/v1/netpay/bills/refund', billRefundAnswer],
  ['/v1/netpay/bills/close-qrcode', closeQrCodeAnswer],
]);
for (const channel of CHANNELS) {
  if (channel.method === 'POST' && !ROUTES.has(channel.path)) {
    ROUTES.set(channel.path, (engine, body) => createAnswer(engine, channel, body));
  }
}

export function postHandler(path: string): ApiHandler | undefined {
  return ROUTES.get(path);
}

export const TOKEN_PATH = '/v1/token/access';
