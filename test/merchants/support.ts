/**
 * A whole gateway (src/app.ts) in simulator mode on each test database, plus merchant fixtures
 * and the GraphQL documents the merchant suites share.
 */
import { startGateway, type Gateway } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/log.js';
import { newSecretKey } from '../../src/merchants/secret-box.js';
import { freePort } from '../app/support.js';
import type { DatabaseKind, TestDatabase } from '../support/db.js';

export const silent = createLogger('silent');

export interface MerchantGateway {
  gw: Gateway;
  database: TestDatabase | undefined;
  close(): Promise<void>;
}

/** A gateway in simulator mode on `kind` (PGlite in memory, or a fresh Postgres database). */
export async function startMerchantGateway(
  kind: DatabaseKind,
  env: NodeJS.ProcessEnv = {},
  log: Logger = silent,
  options: { scheduler?: boolean } = {},
): Promise<MerchantGateway> {
  const database = kind.driver === 'postgres' ? await kind.open() : undefined;
  const config = loadConfig({
    PORT: String(await freePort()),
    UMS_SIM_PORT: String(await freePort()),
    PAYMENT_SYNC_AFTER_MS: '600000',
    GATEWAY_SECRET_KEY: newSecretKey(),
    UMS_SIM_NOTIFY_BACKOFF_MS: '0,50,100',
    ...(database?.url ? { DATABASE_URL: database.url } : { PGLITE_DATA_DIR: 'memory://' }),
    ...env,
  });
  const gw = await startGateway(config, { log, defaultMetrics: false, scheduler: options.scheduler ?? false });
  return {
    gw,
    database,
    async close() {
      await gw.close();
      await database?.close();
    },
  };
}

/** Merchant B: its own app, keys, source number and mid/tid (unknown to the default merchant). */
export const MERCHANT_B = {
  id: 'b',
  name: 'Shop B',
  mid: '898310060514002',
  tid: '00000002',
  sourceId: '7B7B',
  appId: 'app-of-merchant-b',
  appKey: 'appkey-of-merchant-b-0123456789abcdef',
  notifyKey: 'notifykey-of-merchant-b-9876543210',
} as const;

export const MERCHANT_FIELDS = 'id name mid tid sourceId instMid appId authMode enabled notifyUrl createdAt updatedAt';
export const CREATE_MERCHANT = `mutation($input: MerchantInput!) { createMerchant(input: $input) { ${MERCHANT_FIELDS} } }`;
export const UPDATE_MERCHANT = `mutation($id: ID!, $input: MerchantInput!) { updateMerchant(id: $id, input: $input) { ${MERCHANT_FIELDS} } }`;
export const MERCHANTS = `{ merchants { ${MERCHANT_FIELDS} } }`;
export const MERCHANT = `query($id: ID!) { merchant(id: $id) { ${MERCHANT_FIELDS} } }`;
export const CREATE_PAYMENT = `mutation($input: CreatePaymentInput!) {
  createPayment(input: $input) { qrCode payment { merOrderId merchantId status mid tid totalAmount } }
}`;
export const PAYMENT = 'query($id: ID!) { payment(merOrderId: $id) { merOrderId merchantId status version refundedAmount events { source status } } }';

export type MerchantAnswer = Record<string, unknown> & { id: string; enabled: boolean; notifyUrl: string };
export type CreatedPayment = {
  createPayment: { qrCode: string | null; payment: { merOrderId: string; merchantId: string; status: string; mid: string; tid: string; totalAmount: number } };
};
export type PaymentAnswer = {
  payment: { merOrderId: string; merchantId: string; status: string; version: number; refundedAmount: number; events: { source: string; status: string }[] } | null;
};
