/**
 * At least once across a database outage: every connection of the gateway is cut (as a Postgres
 * restart does) while attempts are queued for retry; once the connections come back, every event
 * is delivered.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inArray } from 'drizzle-orm';
import type { Gateway } from '../../src/app.js';
import { paymentEvents } from '../../src/db/schema.js';
import { until } from '../app/support.js';
import { describePostgres, onServer, postgresDatabase, type TestDatabase } from '../support/db.js';
import { createEndpoint, createPayment, webhookGateway } from './gateway.js';
import { Receiver } from './receiver.js';

describePostgres('webhooks across a cut of every database connection [postgres]', () => {
  let db: TestDatabase;
  let gw: Gateway;
  const receiver = new Receiver();

  beforeAll(async () => {
    db = await postgresDatabase();
    await receiver.start();
    gw = await webhookGateway({ WEBHOOK_RETRY_SCHEDULE_MS: '300,300,300,300,300,300,300,300,300,300' }, db.url);
  });
  afterAll(async () => {
    await gw?.close();
    await receiver.stop();
    await db?.close();
  });

  it('every event is delivered once the connections come back', async () => {
    let up = false;
    const delivered = new Set<string>();
    receiver.answer = (request) => {
      if (!up) return { status: 503 };
      delivered.add(request.id);
      return { status: 200 };
    };
    await createEndpoint(gw, { url: receiver.url });
    const orders = [await createPayment(gw), await createPayment(gw), await createPayment(gw)];
    await until('failed first attempts', () => (receiver.received.length >= 3 ? true : undefined));
    // Cut every connection to this database (the test's own maintenance connection excepted).
    await onServer((sql) => sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${db.name!} and pid <> pg_backend_pid()`);
    up = true;
    // Changes made after the cut are delivered too (the LISTEN connection came back).
    orders.push(await until('a payment after the cut', () => createPayment(gw).catch(() => undefined), 20_000));
    const events = await until('events readable', () => db.db.select({ id: paymentEvents.id }).from(paymentEvents).where(inArray(paymentEvents.merOrderId, orders)).catch(() => undefined));
    await until('every event delivered', () => (events.every((e) => delivered.has(String(e.id))) ? true : undefined), 30_000);
    expect(delivered.size).toBeGreaterThanOrEqual(events.length);
  }, 90_000);
});
