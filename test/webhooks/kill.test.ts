/**
 * At least once across `kill -9`: a real gateway process is killed while its attempts are in
 * flight (the receiver holds them open); a new process on the same Postgres takes the expired
 * claims up, and every event reaches the receiver.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inArray } from 'drizzle-orm';
import { paymentEvents } from '../../src/db/schema.js';
import { gql, until } from '../app/support.js';
import { spawnGateway, waitUntilReady, type GatewayProcess } from '../app/shutdown/gateway-process.js';
import { describePostgres, postgresDatabase, type TestDatabase } from '../support/db.js';
import { CREATE_ENDPOINT } from './gateway.js';
import { Receiver } from './receiver.js';

const CREATE_PAYMENT = `mutation($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId } } }`;

describePostgres('webhooks across kill -9 [postgres, real processes]', () => {
  let db: TestDatabase;
  const receiver = new Receiver();
  const processes: GatewayProcess[] = [];
  const env = { GATEWAY_SECRET_KEY: randomBytes(32).toString('hex'), WEBHOOK_TIMEOUT_MS: '1500', WEBHOOK_RETRY_SCHEDULE_MS: '200,200,200,200,200,200,200,200' };

  beforeAll(async () => {
    db = await postgresDatabase();
    await receiver.start();
  });
  afterAll(async () => {
    for (const p of processes) await p.kill();
    await receiver.stop();
    await db?.close();
  });

  it('every event is delivered at least once after the delivering process is killed mid-delivery', async () => {
    let killed = false;
    const delivered = new Set<string>();
    // Until the kill, every request is held open: the first process dies with attempts in flight.
    receiver.answer = (request) => {
      if (!killed) return { hang: true };
      delivered.add(request.id);
      return { status: 200 };
    };
    const first = await spawnGateway({ databaseUrl: db.url!, env });
    processes.push(first);
    await waitUntilReady(first, 60_000);
    const endpoint = await gql(first.url, CREATE_ENDPOINT, { input: { url: receiver.url } });
    expect(endpoint.errors).toBeUndefined();
    const orders: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const created = await gql<{ createPayment: { payment: { merOrderId: string } } }>(first.url, CREATE_PAYMENT, { input: { channel: 'QR_CODE', totalAmount: 100 + i } });
      expect(created.errors).toBeUndefined();
      orders.push(created.data!.createPayment.payment.merOrderId);
    }
    await until('attempts in flight at the receiver', () => (receiver.received.length >= 3 ? true : undefined), 30_000);
    first.signal('SIGKILL');
    await first.exited;
    killed = true;

    const second = await spawnGateway({ databaseUrl: db.url!, env });
    processes.push(second);
    await waitUntilReady(second, 60_000);
    const events = await db.db.select({ id: paymentEvents.id }).from(paymentEvents).where(inArray(paymentEvents.merOrderId, orders));
    expect(events.length).toBeGreaterThanOrEqual(5);
    await until(
      'every event delivered by the second process',
      () => (events.every((e) => delivered.has(String(e.id))) ? true : undefined),
      60_000,
    );
    await second.kill();
  }, 180_000);
});
