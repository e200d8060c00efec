/**
 * What only a real server with several connections can show: the same notification racing on
 * two connections, and the database going away mid-flight. Skipped without TEST_DATABASE_URL.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { notifications, paymentEvents, payments } from '../../src/db/schema.js';
import { buildServer } from '../../src/http/server.js';
import { notifyRoute } from '../../src/http/notify.js';
import { insertNewOrder, NotificationBatcher, receiptsOf } from '../../src/payments/ledger.js';
import { describePostgres, onServer, postgresDatabase, type TestDatabase } from '../support/db.js';
import { FORM, MID, NOTIFY_KEY, TID, formBody, newOrderId, notificationFields, signed } from '../payments/notification-fixtures.js';

const silent = pino({ level: 'silent' });

describePostgres('POST /notify/ums on real Postgres', () => {
  let h: TestDatabase;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    h = await postgresDatabase({ maxConnections: 16 });
    app = await buildServer({
      log: silent,
      ready: () => h.ready(),
      plugins: [notifyRoute({ db: h.db, batcher: new NotificationBatcher(h.db), keys: () => [NOTIFY_KEY], log: silent })],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  const post = async (body: string) => {
    const res = await fetch(`${base}/notify/ums`, { method: 'POST', headers: { 'content-type': FORM }, body });
    return { status: res.status, text: await res.text() };
  };
  const order = async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID });
    return merOrderId;
  };
  const paymentOf = async (merOrderId: string) =>
    (await h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId)))[0];
  const outcomesOf = async (merOrderId: string) =>
    (await h.db.select().from(notifications).where(eq(notifications.merOrderId, merOrderId)).orderBy(asc(notifications.id))).map(
      (n) => n.outcome,
    );
  /** [outcome, receivedCount] of each stored body of the order, oldest first. */
  const receivedOf = async (merOrderId: string) =>
    Promise.all(
      (await h.db.select().from(notifications).where(eq(notifications.merOrderId, merOrderId)).orderBy(asc(notifications.id))).map(async (n) => [
        n.outcome,
        (await receiptsOf(h.db, n.id))?.receivedCount,
      ]),
    );
  const eventsOf = (merOrderId: string) => h.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId));

  it('applies the same notification posted on many connections at once exactly once', async () => {
    const merOrderId = await order();
    const body = formBody(signed(notificationFields(merOrderId)));
    const answers = await Promise.all(Array.from({ length: 16 }, () => post(body)));
    expect(answers).toEqual(Array.from({ length: 16 }, () => ({ status: 200, text: 'SUCCESS' })));
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
    expect(await eventsOf(merOrderId)).toHaveLength(2);
    // One body: stored once, every copy counted on its row.
    expect(await receivedOf(merOrderId)).toEqual([['applied', 16]]);
  });

  it('applies one of two different notices of the same success (two notifyIds) racing each other', async () => {
    const merOrderId = await order();
    const bodies = [0, 1, 2, 3].map(() => formBody(signed(notificationFields(merOrderId))));
    const answers = await Promise.all(bodies.map(post));
    expect(answers.every((a) => a.text === 'SUCCESS')).toBe(true);
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
    const outcomes = await outcomesOf(merOrderId);
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(3);
  });

  it('creates an unknown order once when its notification races itself', async () => {
    const merOrderId = newOrderId();
    const body = formBody(signed(notificationFields(merOrderId)));
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(body)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await paymentOf(merOrderId)).toMatchObject({ version: 1, needsReview: true, reviewReason: 'unknown-order' });
    expect((await outcomesOf(merOrderId)).filter((o) => o === 'created')).toHaveLength(1);
  });

  it('answers 503 while the database is down, loses nothing, and the retry succeeds', async () => {
    const merOrderId = await order();
    const body = formBody(signed(notificationFields(merOrderId)));
    const name = h.name as string;
    await onServer(async (sql) => {
      await sql.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
    });
    try {
      expect(await post(body)).toEqual({ status: 503, text: 'FAILED' });
      expect(await post(body)).toEqual({ status: 503, text: 'FAILED' });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      await onServer((sql) => sql.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`));
    }
    // UMS retries: the same body now goes through, once.
    expect(await post(body)).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await post(body)).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
    expect(await receivedOf(merOrderId)).toEqual([['applied', 2]]);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});
