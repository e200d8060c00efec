/**
 * Who changed what: the admin log lines of webhook endpoints (create, update, rotate, resend,
 * delete) and of API keys (create, revoke) name the acting key (`actor`), never the key itself.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { freePort, gql } from '../app/support.js';

const ADMIN = 'sk_log_admin_key';
const ACTOR = `env:${createHash('sha256').update(ADMIN).digest('hex').slice(0, 8)}`;

describe('admin log lines name the actor', () => {
  let gw: Gateway;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({
      PORT: String(await freePort()),
      UMS_SIM_PORT: String(await freePort()),
      PGLITE_DATA_DIR: 'memory://',
      PAYMENT_SYNC_AFTER_MS: '600000',
      GATEWAY_API_KEYS: `${ADMIN}:admin`,
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    gw = await startGateway(config, { log: pino({ level: 'info' }, sink), defaultMetrics: false, scheduler: false });
  }, 60_000);
  afterAll(() => gw?.close());

  const admin = <T>(query: string, variables: Record<string, unknown> = {}) => gql<T>(gw.url, query, variables, ADMIN);
  const logged = (msg: string) => lines.find((l) => l.msg === msg);

  it('for webhook endpoints and API keys', async () => {
    const created = await admin<{ createWebhookEndpoint: { endpoint: { id: string } } }>(
      'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }',
      { input: { url: 'http://127.0.0.1:9/hook' } },
    );
    expect(created.errors).toBeUndefined();
    const id = created.data!.createWebhookEndpoint.endpoint.id;
    expect((await admin('mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { description: "d" }) { id } }', { id })).errors).toBeUndefined();
    expect((await admin('mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }', { id })).errors).toBeUndefined();
    const made = await admin('mutation { createPayment(input: { channel: QR_CODE, totalAmount: 100 }) { payment { merOrderId } } }');
    expect(made.errors).toBeUndefined();
    const events = await admin<{ paymentEvents: { edges: { node: { id: string } }[] } }>('query { paymentEvents(first: 1) { edges { node { id } } } }');
    const eventId = events.data?.paymentEvents.edges[0]?.node.id;
    expect(eventId).toBeDefined();
    expect((await admin('mutation($e: ID!, $id: ID) { resendWebhookEvent(eventId: $e, endpointId: $id) }', { e: eventId, id })).errors).toBeUndefined();
    expect((await admin('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id })).errors).toBeUndefined();
    const key = await admin<{ createApiKey: { apiKey: { id: string } } }>('mutation { createApiKey(input: { scopes: [READ] }) { apiKey { id } } }');
    expect(key.errors).toBeUndefined();
    expect((await admin('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: key.data!.createApiKey.apiKey.id })).errors).toBeUndefined();

    const messages = ['webhook endpoint created', 'webhook endpoint updated', 'webhook secret rotated', 'webhook endpoint deleted', 'API key created', 'API key revoked', 'webhook event resent'];
    for (const msg of messages) expect(logged(msg), msg).toMatchObject({ actor: ACTOR });
    expect(JSON.stringify(lines)).not.toContain(ADMIN);
  });
});
