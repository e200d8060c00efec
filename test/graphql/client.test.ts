/**
 * The generated typed client, used as a frontend would: typed documents over HTTP and graphql-ws,
 * against the real commands and simulator. Also: the committed schema.graphql matches the code.
 */
import { readFileSync } from 'node:fs';
import { parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  checkout,
  clientSecretParams,
  CreatePaymentDocument,
  GetPaymentDocument,
  GetPaymentStatusDocument,
  ListPaymentsDocument,
  SimulatePaymentDocument,
  WatchPaymentDocument,
  request,
  watch,
  type PaymentStatus,
} from '../../src/graphql/client/index.js';
import { buildGatewaySchema, printGatewaySchema } from '../../src/graphql/schema.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { startFullGateway, type FullGateway } from './full-gateway.js';
import { wsClient } from './harness.js';
import { gql } from '../app/support.js';
import { flagPaymentForReview } from '../../src/payments/ledger.js';

describe('typed client', () => {
  let h: TestDatabase;
  let gw: FullGateway;

  beforeAll(async () => {
    h = await pgliteDatabase();
    gw = await startFullGateway(h);
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('creates, watches and pays with typed documents', async () => {
    const created = await request(gw.url, CreatePaymentDocument, { input: { channel: 'QR_CODE', totalAmount: 1250 } });
    expect(created.errors).toBeUndefined();
    const merOrderId = created.data!.createPayment.payment.merOrderId;

    const { client } = wsClient(gw.wsUrl);
    const changes = watch(client, WatchPaymentDocument, { merOrderId });
    const statuses: PaymentStatus[] = [];
    const first = await changes.next();
    statuses.push(first.value?.data?.paymentStatusChanged.status as PaymentStatus);

    const paid = await request(gw.url, SimulatePaymentDocument, { merOrderId });
    expect(paid.data?.simulatePayment.status).toBe('TRADE_SUCCESS');
    while (!statuses.includes('TRADE_SUCCESS')) {
      const next = await changes.next();
      if (next.done) break;
      statuses.push(next.value.data?.paymentStatusChanged.status as PaymentStatus);
    }
    expect(statuses.at(-1)).toBe('TRADE_SUCCESS');
    await changes.return?.();
    await client.dispose();

    const read = await request(gw.url, GetPaymentDocument, { merOrderId });
    expect(read.data?.payment?.events.map((e) => e.status)).toContain('TRADE_SUCCESS');
  });
});

describe('typed client: the server creates, the frontend holds only the client secret', () => {
  let h: TestDatabase;
  let gw: FullGateway;
  const SERVER_KEY = 'sk_shop_server';

  beforeAll(async () => {
    h = await pgliteDatabase();
    gw = await startFullGateway(h, { apiKeys: `${SERVER_KEY}:read+pay` });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('checkout on the server, then read and watch with the client secret', async () => {
    const forFrontend = await checkout(gw.url, SERVER_KEY, { channel: 'QR_CODE', totalAmount: 990 }, `order-${Date.now()}`);
    expect(forFrontend.qrCode).toBeTruthy();
    expect(JSON.stringify(forFrontend)).not.toContain(SERVER_KEY);
    const { merOrderId, clientSecret } = forFrontend;

    const read = await request(gw.url, GetPaymentStatusDocument, { merOrderId }, bearer(clientSecret));
    expect(read.data?.payment?.merOrderId).toBe(merOrderId);
    const list = await request(gw.url, ListPaymentsDocument, {}, bearer(clientSecret));
    expect(list.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const { client } = wsClient(gw.wsUrl, clientSecretParams(clientSecret));
    const changes = watch(client, WatchPaymentDocument, { merOrderId });
    const first = await changes.next();
    expect(first.value?.data?.paymentStatusChanged.payment.merOrderId).toBe(merOrderId);
    await request(gw.url, SimulatePaymentDocument, { merOrderId }, bearer(SERVER_KEY));
    let status = first.value?.data?.paymentStatusChanged.status;
    while (status !== 'TRADE_SUCCESS') {
      const next = await changes.next();
      if (next.done) break;
      status = next.value.data?.paymentStatusChanged.status;
    }
    expect(status).toBe('TRADE_SUCCESS');
    await changes.return?.();
    await client.dispose();
  });

  it('works without Web Crypto (a browser on plain HTTP, not localhost): sends the text', async () => {
    const { merOrderId, clientSecret } = await checkout(gw.url, SERVER_KEY, { channel: 'QR_CODE', totalAmount: 500 }, `order-${Date.now()}`);
    // A document object the client has not hashed yet (it remembers each document's hash).
    const document = parse(print(GetPaymentStatusDocument)) as typeof GetPaymentStatusDocument;
    // Browsers leave crypto.subtle undefined outside secure contexts; shadow the getter here.
    Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true });
    try {
      const read = await request(gw.url, document, { merOrderId }, bearer(clientSecret));
      expect(read.data?.payment?.merOrderId).toBe(merOrderId);
    } finally {
      delete (globalThis.crypto as { subtle?: unknown }).subtle;
    }
    expect(globalThis.crypto.subtle).toBeDefined();
  });

  it("a client secret reads the payment but not the operators' words: events' reason and actor, reviewReason", async () => {
    const { merOrderId, clientSecret } = await checkout(gw.url, SERVER_KEY, { channel: 'QR_CODE', totalAmount: 500 }, `notes-${Date.now()}`);
    await flagPaymentForReview(h.db, merOrderId, 'operator note: buyer called about it');
    const query = 'query($id: ID!) { payment(merOrderId: $id) { merOrderId needsReview reviewReason events { status reason actor } } }';
    type Answer = { payment: { merOrderId: string; needsReview: boolean; reviewReason: string | null; events: { status: string; reason: string | null; actor: string | null }[] } };
    const server = await gql<Answer>(gw.url.replace(/\/graphql$/, ''), query, { id: merOrderId }, SERVER_KEY);
    expect(server.errors).toBeUndefined();
    expect(server.data?.payment.reviewReason).toContain('operator note');
    expect(server.data?.payment.events.some((e) => e.reason !== null && e.actor !== null)).toBe(true);
    const buyer = await gql<Answer>(gw.url.replace(/\/graphql$/, ''), query, { id: merOrderId }, clientSecret);
    expect(buyer.errors).toBeUndefined();
    expect(buyer.data?.payment).toMatchObject({ merOrderId, reviewReason: null });
    expect(buyer.data?.payment.events.length).toBeGreaterThan(0);
    expect(buyer.data?.payment.events.every((e) => e.reason === null && e.actor === null)).toBe(true);
  });
});

describe('schema.graphql', () => {
  it('is the schema the code builds (run npm run codegen when this fails)', async () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(printGatewaySchema(await buildGatewaySchema({ simulatorMode: true }))).toBe(committed);
  });

  it('has every name of CONTRACT.md', () => {
    const sdl = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    for (const name of [
      'scalar DateTime', 'scalar JSON', 'enum PaymentStatus', 'enum PaymentChannel', 'enum EventSource', 'type Payment ', 'type PaymentEvent',
      'type Refund', 'type PaymentEdge', 'type PageInfo', 'type PaymentConnection', 'input CreatePaymentInput', 'type CreatePaymentPayload',
      'input RefundPaymentInput', 'type PaymentStatusChange', 'payment(merOrderId: ID!): Payment',
      'payments(', 'first: Int = 20', 'createPayment(input: CreatePaymentInput!): CreatePaymentPayload!', 'syncPayment(merOrderId: ID!): Payment!',
      'closePayment(merOrderId: ID!): Payment!', 'refundPayment(input: RefundPaymentInput!): Refund!',
      'callUms(', 'dataTag: Boolean = false', 'simulatePayment(merOrderId: ID!, outcome: PaymentStatus = TRADE_SUCCESS): Payment!',
      // CONTRACT.md's second version adds `after` (the event feed).
      'paymentStatusChanged(after: String, merOrderId: ID, mid: String): PaymentStatusChange!',
      'paymentEvents(', 'first: Int = 50', 'type PaymentEventConnection', 'type PaymentEventEdge', 'enum WebhookEventType', 'type WebhookEndpoint',
      'type CreatedWebhookEndpoint', 'type WebhookDelivery ', 'type WebhookDeliveryConnection', 'webhookEndpoints(merchantId: ID): [WebhookEndpoint!]!',
      'createWebhookEndpoint(input: CreateWebhookEndpointInput!): CreatedWebhookEndpoint!',
      'updateWebhookEndpoint(id: ID!, input: UpdateWebhookEndpointInput!): WebhookEndpoint!', 'deleteWebhookEndpoint(id: ID!): Boolean!',
      'rotateWebhookSecret(id: ID!): CreatedWebhookEndpoint!', 'resendWebhookEvent(endpointId: ID, eventId: ID!): Boolean!',
    ]) {
      expect(sdl, name).toContain(name);
    }
  });
});
