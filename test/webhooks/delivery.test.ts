/**
 * Webhooks end to end on a whole gateway (src/app.ts, simulator mode): an endpoint created over
 * GraphQL, payments made and paid at the simulator, deliveries POSTed to a real local receiver and
 * verified by the `standardwebhooks` package (an independent implementation of the spec).
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import type { Gateway } from '../../src/app.js';
import { paymentEvents } from '../../src/db/schema.js';
import { gql, until } from '../app/support.js';
import { createEndpoint, createPayment, deliveries, pay, webhookGateway } from './gateway.js';
import { Receiver } from './receiver.js';

function headersOf(r: { headers: Record<string, unknown> }): Record<string, string> {
  return Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(r.headers[h])]));
}

describe('webhooks on a whole gateway (PGlite)', () => {
  let gw: Gateway;
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    gw = await webhookGateway();
  });
  afterAll(async () => {
    await gw?.close();
    await receiver.stop();
  });

  it('delivers each applied change, signed so that standardwebhooks verifies it, with the committed state as body', async () => {
    const { secret, id: endpointId } = await createEndpoint(gw, { url: receiver.url, description: 'shop backend' });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const merOrderId = await createPayment(gw);
    await pay(gw, merOrderId);
    const events = await until('the paid event delivered', async () => {
      const rows = await gw.database.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId)).orderBy(asc(paymentEvents.id));
      const ids = new Set(receiver.received.map((r) => r.id));
      return rows.some((e) => e.status === 'TRADE_SUCCESS') && rows.every((e) => ids.has(String(e.id))) ? rows : undefined;
    });
    const verifier = new Webhook(secret);
    for (const event of events) {
      const got = receiver.received.find((r) => r.id === String(event.id))!;
      expect(got.headers['content-type']).toBe('application/json');
      expect(() => verifier.verify(got.body, headersOf(got))).not.toThrow();
      const body = JSON.parse(got.body) as { type: string; timestamp: string; data: Record<string, unknown> };
      expect(body.type).toBe('payment.status_changed');
      expect(body.timestamp).toBe(event.at.toISOString());
      expect(body.data).toMatchObject({
        merOrderId,
        merchantId: 'default',
        status: event.status,
        previousStatus: event.previousStatus,
        version: event.version,
        totalAmount: 1000,
        refundedAmount: 0,
        source: event.source,
      });
    }
    // A tampered body does not verify.
    const first = receiver.received[0]!;
    expect(() => verifier.verify(first.body.replace('default', 'other'), headersOf(first))).toThrow();
    const log = await deliveries(gw, { endpointId });
    expect(log.length).toBeGreaterThanOrEqual(events.length);
    expect(log.every((d) => d.status === 'SUCCEEDED' && d.httpStatus === 200 && d.attempt === 1 && d.durationMs !== null)).toBe(true);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/webhook_deliveries_total\{outcome="SUCCEEDED"\} [1-9]/);
    expect(metrics).toMatch(/webhook_queue_depth \d+/);
    expect(metrics).toMatch(/webhook_oldest_pending_seconds \d/);
    // Done with this endpoint: the other tests use their own.
    await gql(gw.url, 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id: endpointId });
  });

  it('retries after a 500 and after a timeout on the schedule, then succeeds; the log shows every attempt', async () => {
    const flaky = await new Receiver().start();
    try {
      flaky.answer = (_r, index) => (index === 0 ? { status: 500 } : index === 1 ? { hang: true } : { status: 204 });
      const { id: endpointId } = await createEndpoint(gw, { url: flaky.url, events: ['PAYMENT_STATUS_CHANGED'] });
      const merOrderId = await createPayment(gw);
      const log = await until(
        'a success after two failures',
        async () => {
          const rows = await deliveries(gw, { endpointId });
          return rows.some((d) => d.status === 'SUCCEEDED') ? rows : undefined;
        },
        20_000,
      );
      const ofFirst = log.filter((d) => d.eventId === flaky.received[0]!.id).sort((a, b) => a.attempt - b.attempt);
      expect(ofFirst.map((d) => [d.attempt, d.status, d.httpStatus])).toEqual([
        [1, 'RETRYING', 500],
        [2, 'RETRYING', null],
        [3, 'SUCCEEDED', 204],
      ]);
      expect(ofFirst[1]!.error).toBe('timed out');
      expect(ofFirst[0]!.nextAttemptAt).not.toBeNull();
      // Every attempt carried the same id and body.
      const same = flaky.received.filter((r) => r.id === ofFirst[0]!.eventId);
      expect(new Set(same.map((r) => r.body)).size).toBe(1);
      expect(merOrderId).toBeTruthy();
      await gql(gw.url, 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id: endpointId });
    } finally {
      await flaky.stop();
    }
  });

  it('a receiver that is down gets everything when it comes back; past the schedule FAILED, then resendWebhookEvent sends the same body', async () => {
    const later = new Receiver();
    await later.start();
    const port = later.port;
    await later.stop();
    const { id: endpointId, secret } = await createEndpoint(gw, { url: `http://127.0.0.1:${port}/hooks` });
    const merOrderId = await createPayment(gw);
    // Down: attempts fail (connection refused) until the schedule (3 retries) runs out.
    const failed = await until('FAILED after the schedule', async () => {
      const rows = await deliveries(gw, { endpointId, status: 'FAILED' });
      return rows.length > 0 ? rows : undefined;
    });
    expect(failed[0]!.attempt).toBe(4);
    expect(failed[0]!.error).toMatch(/ECONNREFUSED/);
    // Up again: a resend delivers the same event, same id, verifiable.
    await later.start(port);
    const resent = await gql<{ resendWebhookEvent: boolean }>(gw.url, 'mutation($e: ID!, $w: ID) { resendWebhookEvent(eventId: $e, endpointId: $w) }', { e: failed[0]!.eventId, w: endpointId });
    expect(resent.data?.resendWebhookEvent).toBe(true);
    const got = await until('the resent event', () => later.received.find((r) => r.id === failed[0]!.eventId));
    expect(() => new Webhook(secret).verify(got.body, headersOf(got))).not.toThrow();
    expect(JSON.parse(got.body).data.merOrderId).toBe(merOrderId);
    const again = await deliveries(gw, { endpointId, eventId: failed[0]!.eventId });
    expect(again.find((d) => d.attempt === 5)?.status).toBe('SUCCEEDED');
    // A resend of the same event sends the very same body.
    await gql(gw.url, 'mutation($e: ID!, $w: ID) { resendWebhookEvent(eventId: $e, endpointId: $w) }', { e: failed[0]!.eventId, w: endpointId });
    await until('the second resend', () => (later.received.filter((r) => r.id === failed[0]!.eventId).length === 2 ? true : undefined));
    const bodies = later.received.filter((r) => r.id === failed[0]!.eventId).map((r) => r.body);
    expect(bodies[0]).toBe(bodies[1]);
    await gql(gw.url, 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id: endpointId });
    await later.stop();
  });

  it('after rotateWebhookSecret both signatures are sent, and each secret verifies', async () => {
    const rotating = await new Receiver().start();
    try {
      const { id: endpointId, secret: oldSecret } = await createEndpoint(gw, { url: rotating.url });
      const rotated = await gql<{ rotateWebhookSecret: { secret: string } }>(gw.url, 'mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id } } }', { id: endpointId });
      const newSecret = rotated.data!.rotateWebhookSecret.secret;
      expect(newSecret).not.toBe(oldSecret);
      await createPayment(gw);
      const got = await until('a delivery after the rotation', () => rotating.received[0]);
      expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(() => new Webhook(newSecret).verify(got.body, headersOf(got))).not.toThrow();
      expect(() => new Webhook(oldSecret).verify(got.body, headersOf(got))).not.toThrow();
      await gql(gw.url, 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id: endpointId });
    } finally {
      await rotating.stop();
    }
  });

  it('an endpoint that hangs does not slow another: the healthy one gets every event while the slow one holds only its own slots', async () => {
    const slow = await new Receiver().start();
    const fast = await new Receiver().start();
    slow.answer = () => ({ hang: true });
    try {
      const s = await createEndpoint(gw, { url: slow.url });
      const f = await createEndpoint(gw, { url: fast.url });
      const started = Date.now();
      const orders = await Promise.all(Array.from({ length: 10 }, () => createPayment(gw)));
      const ids = (await gw.database.db.select().from(paymentEvents)).filter((e) => orders.includes(e.merOrderId)).map((e) => String(e.id));
      await until('the healthy endpoint has every event', () => (ids.every((id) => fast.received.some((r) => r.id === id)) ? true : undefined), 10_000);
      // The slow endpoint's attempts each wait WEBHOOK_TIMEOUT_MS (1 s); the healthy one did not wait on them.
      expect(Date.now() - started).toBeLessThan(5_000);
      // At most 4 of the slow endpoint's attempts were ever in flight at once (the per-endpoint cap).
      expect(slow.received.length).toBeGreaterThan(0);
      expect(slow.maxInFlight).toBeLessThanOrEqual(4);
      for (const id of [s.id, f.id]) await gql(gw.url, 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id });
    } finally {
      await slow.stop();
      await fast.stop();
    }
  });

  it('a disabled endpoint gets nothing; the endpoint list never shows a secret', async () => {
    const quiet = await new Receiver().start();
    try {
      const { id } = await createEndpoint(gw, { url: quiet.url });
      const updated = await gql<{ updateWebhookEndpoint: { enabled: boolean } }>(gw.url, 'mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { enabled } }', { id });
      expect(updated.data?.updateWebhookEndpoint.enabled).toBe(false);
      await createPayment(gw);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await gw.webhooks.engine.idle();
      expect(quiet.received).toHaveLength(0);
      const listed = await gql<{ webhookEndpoints: { id: string }[] }>(gw.url, '{ webhookEndpoints { id url events enabled description createdAt merchantId } }');
      expect(JSON.stringify(listed)).not.toContain('whsec_');
      const wrong = await gql(gw.url, 'mutation { updateWebhookEndpoint(id: "whe_nope", input: { enabled: true }) { id } }');
      expect(wrong.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const bad = await gql(gw.url, 'mutation { createWebhookEndpoint(input: { url: "ftp://example.com/x" }) { secret } }');
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await quiet.stop();
    }
  });
});
