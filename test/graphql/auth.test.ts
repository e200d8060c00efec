/**
 * The authorization matrix (CONTRACT.md): over HTTP with `Authorization: Bearer`, and over
 * graphql-ws with `connectionParams.authorization` in connection_init.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEES_ALL } from '../../src/access/visibility.js';
import type { PaymentCommands } from '../../src/payments/commands-api.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newOrder, pay } from './fixtures.js';
import { bearer, collect, gql, startGateway, wsClient, type TestGateway } from './harness.js';

const KEYS = 'k_read:read,k_pay:pay,k_refund:refund,k_admin:admin,k_web:read+pay';

/** Commands that succeed with a recognisable answer, so a test sees whether a call got through. */
function echoCommands(h: TestDatabase, merOrderId: () => string): PaymentCommands {
  const payment = async () => {
    const { PaymentReads } = await import('../../src/graphql/data.js');
    const row = await new PaymentReads(h.db).findPayment(merOrderId(), SEES_ALL);
    if (!row) throw new Error('fixture missing');
    return row;
  };
  return {
    create: async () => ({ payment: await payment(), qrCode: 'https://qr.example/1' }),
    sync: payment,
    close: payment,
    refund: async (input) => ({
      refundOrderId: input.refundOrderId ?? 'R1',
      merOrderId: input.merOrderId,
      refundAmount: input.refundAmount,
      status: 'PROCESSING',
      refundTargetOrderId: null,
      description: null,
      nextSyncAt: null,
      countedAt: null,
      platformAmount: null,
      subOrders: null,
      createdAt: new Date(),
      updatedAt: new Date(),
    }),
    callUms: async (service) => ({ errCode: 'SUCCESS', service }),
    simulatePayment: payment,
  };
}

const OPERATIONS = {
  query: { op: 'query { payments(first: 1) { edges { cursor } } }', scope: 'read' },
  createPayment: { op: 'mutation { createPayment(input: { channel: QR_CODE, totalAmount: 1 }) { qrCode } }', scope: 'pay' },
  syncPayment: { op: 'mutation($id: ID!) { syncPayment(merOrderId: $id) { merOrderId } }', scope: 'pay' },
  closePayment: { op: 'mutation($id: ID!) { closePayment(merOrderId: $id) { merOrderId } }', scope: 'pay' },
  refundPayment: { op: 'mutation($id: ID!) { refundPayment(input: { merOrderId: $id, refundAmount: 1 }) { status } }', scope: 'refund' },
  callUms: { op: 'mutation { callUms(service: "netpay/query", body: {}) }', scope: 'admin' },
} as const;

const KEY_SCOPES: Record<string, string[]> = {
  k_read: ['read'],
  k_pay: ['pay'],
  k_refund: ['refund'],
  k_admin: ['read', 'pay', 'refund', 'admin'],
  k_web: ['read', 'pay'],
};

describe('authorization', () => {
  let h: TestDatabase;
  let gw: TestGateway;
  let open: TestGateway;
  let merOrderId = '';

  beforeAll(async () => {
    h = await pgliteDatabase();
    merOrderId = await newOrder(h.db);
    await pay(h.db, merOrderId);
    gw = await startGateway({ handle: h, apiKeys: KEYS, commands: echoCommands(h, () => merOrderId) });
    open = await startGateway({ handle: h, commands: echoCommands(h, () => merOrderId) });
  });
  afterAll(async () => {
    await gw?.close();
    await open?.close();
    await h?.close();
  });

  for (const [name, { op, scope }] of Object.entries(OPERATIONS)) {
    it(`${name}: no key or a wrong key → UNAUTHENTICATED`, async () => {
      for (const headers of [{}, bearer('k_nope'), bearer('k_read_'), { authorization: 'k_read' }]) {
        const res = await gql(gw.url, op, { id: merOrderId }, headers);
        expect(res.errors?.[0]?.extensions?.code, JSON.stringify(headers)).toBe('UNAUTHENTICATED');
        expect(res.data === null || Object.values(res.data ?? {}).every((v) => v === null)).toBe(true);
      }
    });

    it(`${name}: needs ${scope} (or admin) → FORBIDDEN otherwise`, async () => {
      for (const [key, scopes] of Object.entries(KEY_SCOPES)) {
        const res = await gql(gw.url, op, { id: merOrderId }, bearer(key));
        if (scopes.includes(scope)) expect(res.errors, `${key} on ${name}`).toBeUndefined();
        else expect(res.errors?.[0]?.extensions?.code, `${key} on ${name}`).toBe('FORBIDDEN');
      }
    });
  }

  it('without configured keys the gateway is open (simulator mode)', async () => {
    for (const { op } of Object.values(OPERATIONS)) {
      const res = await gql(open.url, op, { id: merOrderId });
      expect(res.errors, op).toBeUndefined();
    }
  });

  it('raw event payloads are for admin keys only', async () => {
    const query = 'query($id: ID!) { payment(merOrderId: $id) { events { status payload } } }';
    const admin = await gql<{ payment: { events: { payload: unknown }[] } }>(gw.url, query, { id: merOrderId }, bearer('k_admin'));
    expect(admin.errors).toBeUndefined();
    expect(admin.data!.payment.events[1]?.payload).toMatchObject({ status: 'TRADE_SUCCESS' });
    const reader = await gql(gw.url, query, { id: merOrderId }, bearer('k_read'));
    expect(reader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('never echoes the key in an answer', async () => {
    const res = await gql(gw.url, OPERATIONS.query.op, {}, bearer('k_secret_guess_123'));
    expect(JSON.stringify(res)).not.toContain('k_secret_guess_123');
  });

  describe('graphql-ws connection_init', () => {
    const subscription = 'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { status } }';

    it('refuses a missing or wrong key with 4403', async () => {
      for (const params of [undefined, {}, { authorization: 'Bearer k_nope' }]) {
        const { client, closed } = wsClient(gw.wsUrl, params);
        const sub = collect(client, subscription, { id: merOrderId });
        const event = await closed;
        expect(event.code, JSON.stringify(params)).toBe(4403);
        sub.dispose();
        await client.dispose();
      }
    });

    it('lets a read key subscribe (current state first)', async () => {
      const { client } = wsClient(gw.wsUrl, { authorization: 'Bearer k_read' });
      const sub = collect<{ paymentStatusChanged: { status: string } }>(client, subscription, { id: merOrderId });
      await sub.next(1);
      expect(sub.results[0]?.data?.paymentStatusChanged.status).toBe('TRADE_SUCCESS');
      sub.dispose();
      await client.dispose();
    });

    it('answers FORBIDDEN to a key without read', async () => {
      const { client } = wsClient(gw.wsUrl, { authorization: 'Bearer k_pay' });
      const sub = collect(client, subscription, { id: merOrderId });
      await sub.settled();
      // graphql-ws delivers a failed subscribe as one result carrying the errors, then completes.
      const errors = (sub.error as { extensions?: { code?: string } }[] | undefined) ?? sub.results[0]?.errors;
      expect(errors?.[0]?.extensions?.code, JSON.stringify(sub.results)).toBe('FORBIDDEN');
      expect(sub.results.every((r) => !r.data)).toBe(true);
      await client.dispose();
    });
  });
});
