/**
 * Two gateway instances on one Postgres delivering together: every event reaches the receiver,
 * no attempt is ever in flight twice at once (the receiver counts requests per webhook-id), each
 * event succeeds once; and every body is the state as committed with its change, even when the
 * payment changed again right after (create, pay and refund in quick succession).
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { and, eq, gte, inArray } from 'drizzle-orm';
import type { Gateway } from '../../src/app.js';
import { paymentEvents, webhookDeliveries } from '../../src/db/schema.js';
import { gql, until } from '../app/support.js';
import { describePostgres, postgresDatabase, type TestDatabase } from '../support/db.js';
import { createEndpoint, createPayment, pay, webhookGateway } from './gateway.js';
import { Receiver, type WebhookBody } from './receiver.js';

const REFUND = 'mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { status } }';

describePostgres('two instances delivering webhooks [postgres]', () => {
  let db: TestDatabase;
  let a: Gateway;
  let b: Gateway;
  const receiver = new Receiver();

  beforeAll(async () => {
    db = await postgresDatabase();
    await receiver.start();
    // One key for both: each seals and opens the endpoint's secret (without it, simulator mode
    // makes a key per process, and the other instance could not sign).
    const env = { GATEWAY_SECRET_KEY: randomBytes(32).toString('base64') };
    a = await webhookGateway(env, db.url);
    b = await webhookGateway(env, db.url);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await receiver.stop();
    await db?.close();
  });

  it('every event once per success, none sent twice at the same time, each body as committed', async () => {
    // Slow answers widen the window in which a second claim could overlap; every 7th fails once.
    receiver.answer = async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      const tries = receiver.received.filter((r) => r.id === request.id).length;
      return Number(request.id) % 7 === 0 && tries === 1 ? { status: 500 } : { status: 200 };
    };
    const { secret, id: endpointId } = await createEndpoint(a, { url: receiver.url });
    const [{ maxId } = { maxId: 0 }] = await db.db.select({ maxId: paymentEvents.id }).from(paymentEvents).orderBy(paymentEvents.id).limit(1);
    const orders: string[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const gw = i % 2 === 0 ? a : b;
        const merOrderId = await createPayment(gw, 1000);
        orders.push(merOrderId);
        await pay(gw, merOrderId);
        await until('paid', async () => {
          const r = await gql<{ payment: { status: string } }>(gw.url, 'query($id: ID!) { payment(merOrderId: $id) { status } }', { id: merOrderId });
          return r.data?.payment.status === 'TRADE_SUCCESS' ? true : undefined;
        });
        const refunded = await gql(gw.url, REFUND, { input: { merOrderId, refundAmount: 300, refundOrderId: `${merOrderId}R1` } });
        expect(refunded.errors).toBeUndefined();
      }),
    );
    const events = await db.db.select().from(paymentEvents).where(and(inArray(paymentEvents.merOrderId, orders), gte(paymentEvents.id, maxId)));
    await until(
      'every event delivered',
      () => {
        const ok = new Set(receiver.received.map((r) => r.id));
        return events.every((e) => ok.has(String(e.id))) ? true : undefined;
      },
      30_000,
    );
    await until('every delivery settled', async () => {
      const rows = await db.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));
      const succeeded = rows.filter((d) => d.status === 'SUCCEEDED');
      return succeeded.length >= events.length && rows.every((d) => d.status !== 'PENDING') ? rows : undefined;
    }, 30_000);

    expect(receiver.maxConcurrentPerId).toBe(1);
    const succeeded = await db.db.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.status, 'SUCCEEDED')));
    const perEvent = new Map<number, number>();
    for (const d of succeeded) perEvent.set(d.eventId, (perEvent.get(d.eventId) ?? 0) + 1);
    expect([...perEvent.values()].every((n) => n === 1)).toBe(true);

    const verifier = new Webhook(secret);
    const byId = new Map(events.map((e) => [String(e.id), e]));
    const refundEvents = new Set<string>();
    for (const got of receiver.received) {
      const event = byId.get(got.id);
      if (!event) continue;
      verifier.verify(got.body, Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(got.headers[h])])));
      const body = JSON.parse(got.body) as WebhookBody;
      // The state committed with this very change, not the payment as it is now.
      expect(body.data).toMatchObject({ merOrderId: event.merOrderId, status: event.status, previousStatus: event.previousStatus, version: event.version, refundedAmount: event.refundedAmount, totalAmount: 1000 });
      if (body.type === 'refund.status_changed') {
        refundEvents.add(got.id);
        expect(body.data).toMatchObject({ refundOrderId: `${event.merOrderId}R1`, refundAmount: 300, refundStatus: 'SUCCESS', refundedAmount: 300 });
      }
    }
    expect(refundEvents.size).toBe(12);
    // Bodies of one order's events show its history, each as it was.
    const first = orders[0]!;
    const history = receiver.received.filter((r) => byId.get(r.id)?.merOrderId === first).map((r) => JSON.parse(r.body) as WebhookBody);
    expect(history.some((h) => h.data.status === 'TRADE_SUCCESS' && h.data.refundedAmount === 0)).toBe(true);
    expect(history.some((h) => h.data.status === 'NEW_ORDER' && h.data.version === 1)).toBe(true);
  }, 120_000);
});
