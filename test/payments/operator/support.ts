/**
 * A whole gateway (src/app.ts) in simulator mode for the operator suites, on PGlite (a data
 * directory, so a second instance can start on it after the first) or on a fresh Postgres
 * database, with an admin key and GraphQL over HTTP.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway, type GatewayOptions } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { freePort, gql, until } from '../../app/support.js';
import { postgresDatabase, seedPgliteDataDir, type DatabaseKind } from '../../support/db.js';

export const silent = createLogger('silent');
export const ADMIN = 'sk_ops_admin_key';
export const ADMIN_ACTOR = `env:${createHash('sha256').update(ADMIN).digest('hex').slice(0, 8)}`;
export { until };

/** Where the instances of one test keep their data: the same place for each instance started. */
export interface SharedStore {
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function sharedStore(kind: DatabaseKind): Promise<SharedStore> {
  if (kind.driver === 'postgres') {
    const db = await postgresDatabase();
    return { env: { DATABASE_URL: db.url! }, close: () => db.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'operator-'));
  seedPgliteDataDir(dir);
  return { env: { PGLITE_DATA_DIR: dir }, close: async () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startInstance(store: SharedStore, env: Record<string, string> = {}, options: GatewayOptions = {}): Promise<Gateway> {
  const config = loadConfig({
    PORT: String(await freePort()),
    UMS_SIM_PORT: String(await freePort()),
    GATEWAY_API_KEYS: `${ADMIN}:admin,pk_web:read+pay`,
    PAYMENT_SYNC_AFTER_MS: '600000',
    UMS_SIM_NOTIFY_BACKOFF_MS: '0,100,200,400',
    // Tests poll runs and payments often; the per-key operation limit is not what they test.
    RATE_LIMIT_PER_MINUTE: '0',
    ...store.env,
    ...env,
  });
  return startGateway(config, { log: silent, defaultMetrics: false, scheduler: false, ...options });
}

export async function admin<T>(gw: Gateway, query: string, variables: Record<string, unknown> = {}) {
  return gql<T>(gw.url, query, variables, ADMIN);
}

const CREATE = `mutation($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId status } } }`;

export async function createPayment(gw: Gateway, totalAmount: number): Promise<string> {
  const answer = await admin<{ createPayment: { payment: { merOrderId: string } } }>(gw, CREATE, { input: { channel: 'QR_CODE', totalAmount } });
  if (answer.errors) throw new Error(JSON.stringify(answer.errors));
  return answer.data!.createPayment.payment.merOrderId;
}

export async function simPay(simUrl: string, merOrderId: string, body: Record<string, unknown> = {}): Promise<void> {
  const res = await fetch(`${simUrl}/_sim/orders/${encodeURIComponent(merOrderId)}/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`sim pay ${res.status}: ${await res.text()}`);
}

const PAYMENT = `query($id: ID!) { payment(merOrderId: $id) { merOrderId status version needsReview reviewReason refundedAmount totalAmount buyerPayAmount
  events { source status previousStatus version reason } refunds { refundOrderId refundAmount status } } }`;

export interface PaymentView {
  merOrderId: string;
  status: string;
  version: number;
  needsReview: boolean;
  reviewReason: string | null;
  refundedAmount: number;
  totalAmount: number;
  buyerPayAmount: number | null;
  events: { source: string; status: string; previousStatus: string | null; version: number; reason: string | null }[];
  refunds: { refundOrderId: string; refundAmount: number; status: string }[];
}

export async function payment(gw: Gateway, id: string): Promise<PaymentView> {
  const answer = await admin<{ payment: PaymentView }>(gw, PAYMENT, { id });
  if (answer.errors) throw new Error(JSON.stringify(answer.errors));
  return answer.data!.payment;
}

export async function paymentUntil(gw: Gateway, id: string, what: string, ok: (p: PaymentView) => boolean): Promise<PaymentView> {
  return until(what, async () => {
    const p = await payment(gw, id);
    return ok(p) ? p : undefined;
  });
}
