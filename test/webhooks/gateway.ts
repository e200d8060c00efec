/** A whole gateway (src/app.ts) in simulator mode for the webhook suites, on PGlite or a Postgres URL. */
import { startGateway, type Gateway } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { freePort, gql } from '../app/support.js';

export const silent = createLogger('silent');

export async function webhookGateway(env: Record<string, string> = {}, databaseUrl?: string): Promise<Gateway> {
  const config = loadConfig({
    PORT: String(await freePort()),
    UMS_SIM_PORT: String(await freePort()),
    PGLITE_DATA_DIR: 'memory://',
    PAYMENT_SYNC_AFTER_MS: '600000',
    WEBHOOK_RETRY_SCHEDULE_MS: '100,200,300',
    WEBHOOK_TIMEOUT_MS: '1000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
  return startGateway(config, { log: silent, defaultMetrics: false, scheduler: false });
}

export const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id url events enabled merchantId } }
}`;

export async function createEndpoint(gw: Gateway, input: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const answer = await gql<{ createWebhookEndpoint: { secret: string; endpoint: { id: string } } }>(gw.url, CREATE_ENDPOINT, { input });
  if (answer.errors) throw new Error(JSON.stringify(answer.errors));
  return { id: answer.data!.createWebhookEndpoint.endpoint.id, secret: answer.data!.createWebhookEndpoint.secret };
}

const CREATE_PAYMENT = `mutation($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId } } }`;

/** A QR_CODE payment, created; answers its merOrderId. */
export async function createPayment(gw: Gateway, totalAmount = 1000): Promise<string> {
  const answer = await gql<{ createPayment: { payment: { merOrderId: string } } }>(gw.url, CREATE_PAYMENT, { input: { channel: 'QR_CODE', totalAmount } });
  if (answer.errors) throw new Error(JSON.stringify(answer.errors));
  return answer.data!.createPayment.payment.merOrderId;
}

/** The buyer pays at the simulator (its notification reaches the gateway). */
export async function pay(gw: Gateway, merOrderId: string): Promise<void> {
  const res = await fetch(`${gw.simulator!.url}/_sim/orders/${encodeURIComponent(merOrderId)}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  if (res.status !== 200) throw new Error(`pay: HTTP ${res.status}`);
}

export const DELIVERIES = `query($endpointId: ID, $eventId: ID, $status: String, $first: Int) {
  webhookDeliveries(endpointId: $endpointId, eventId: $eventId, status: $status, first: $first) {
    edges { node { id eventId endpointId eventType attempt status httpStatus durationMs error at nextAttemptAt } }
  }
}`;

export interface DeliveryNode {
  id: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  attempt: number;
  status: string;
  httpStatus: number | null;
  durationMs: number | null;
  error: string | null;
  nextAttemptAt: string | null;
}

export async function deliveries(gw: Gateway, variables: Record<string, unknown>): Promise<DeliveryNode[]> {
  const answer = await gql<{ webhookDeliveries: { edges: { node: DeliveryNode }[] } }>(gw.url, DELIVERIES, { first: 100, ...variables });
  if (answer.errors) throw new Error(JSON.stringify(answer.errors));
  return answer.data!.webhookDeliveries.edges.map((e) => e.node);
}
