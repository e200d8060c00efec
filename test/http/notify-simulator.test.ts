/**
 * End to end: orders created at the UMS simulator through the real client, paid there, and the
 * simulator's signed notifications delivered over HTTP to POST /notify/ums, retries included.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { DEMO } from '../../src/config.js';
import { notifications, payments } from '../../src/db/schema.js';
import { buildServer } from '../../src/http/server.js';
import { notifyRoute } from '../../src/http/notify.js';
import { insertNewOrder, NotificationBatcher, receiptsOf } from '../../src/payments/ledger.js';
import { startSimulator, type Delivery, type UmsSimulator } from '../../src/sim/simulator.js';
import { UmsClient } from '../../src/ums/client.js';
import { generateOrderId } from '../../src/ums/ids.js';
import { UmsOperations, type PaymentChannel } from '../../src/ums/operations.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';

const silent = pino({ level: 'silent' });

describeEachDatabase('UMS simulator → POST /notify/ums', (kind) => {
  let h: TestDatabase;
  let app: FastifyInstance;
  let sim: UmsSimulator;
  let client: UmsClient;
  let ops: UmsOperations;
  let notifyUrl: string;

  beforeAll(async () => {
    h = await kind.open();
    app = await buildServer({
      log: silent,
      ready: () => h.ready(),
      plugins: [notifyRoute({ db: h.db, batcher: new NotificationBatcher(h.db), keys: () => [DEMO.notifyKey], log: silent })],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    notifyUrl = `http://127.0.0.1:${address.port}/notify/ums`;
    sim = await startSimulator({
      credentials: { ...DEMO },
      notifyBackoffMs: [0, 30, 30],
      notifyUrl,
      log: silent,
    });
    client = new UmsClient({ baseUrl: sim.url, appId: DEMO.appId, appKey: DEMO.appKey });
    ops = new UmsOperations(client, { mid: DEMO.mid, tid: DEMO.tid, notifyUrl, sourceId: DEMO.sourceId });
  });
  afterAll(async () => {
    await client?.close();
    await sim?.close();
    await app?.close();
    await h?.close();
  });

  let n = 0;
  const create = async (channel: PaymentChannel = 'UNIONPAY_MINI', totalAmount = 100) => {
    const merOrderId = `${generateOrderId(DEMO.sourceId)}${++n}`.slice(0, 30);
    await insertNewOrder(h.db, { merOrderId, totalAmount, mid: DEMO.mid, tid: DEMO.tid, channel });
    await ops.createOrder(channel, { merOrderId, totalAmount });
    return merOrderId;
  };
  const settled = (merOrderId: string, status?: string) =>
    sim.waitForDelivery((d) => d.merOrderId === merOrderId && (!status || d.status === status) && d.state !== 'pending', 10_000);
  const paymentOf = async (merOrderId: string) =>
    (await h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId)))[0];
  const lastAnswer = (d: Delivery) => d.attempts.at(-1);

  it('a paid order is delivered, answered SUCCESS on the first attempt, and applied', async () => {
    const merOrderId = await create();
    sim.pay(merOrderId);
    const delivery = await settled(merOrderId);
    expect(delivery.state).toBe('delivered');
    expect(delivery.attempts).toHaveLength(1);
    expect(lastAnswer(delivery)).toMatchObject({ httpStatus: 200, answer: 'SUCCESS' });
    const simOrder = sim.order(merOrderId);
    expect(await paymentOf(merOrderId)).toMatchObject({
      status: 'TRADE_SUCCESS',
      version: 2,
      needsReview: false,
      targetOrderId: simOrder?.targetOrderId ?? expect.any(String),
    });
  });

  it('a QR code (bills) payment is applied from its bills notification', async () => {
    const merOrderId = await create('QR_CODE', 3000);
    sim.pay(merOrderId);
    const delivery = await settled(merOrderId);
    expect(lastAnswer(delivery)).toMatchObject({ httpStatus: 200, answer: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2, needsReview: false });
  });

  it('concurrent copies of one notification are applied once', async () => {
    const merOrderId = await create();
    sim.scenario({ kind: 'concurrent', copies: 5, merOrderId });
    sim.pay(merOrderId);
    await expect
      .poll(() => sim.deliveries.filter((d) => d.merOrderId === merOrderId && d.state === 'delivered').length, { timeout: 10_000 })
      .toBe(5);
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
    const rows = await h.db.select().from(notifications).where(eq(notifications.merOrderId, merOrderId));
    // Five copies of one body: stored once, every copy counted on its row.
    expect(rows.map((r) => r.outcome)).toEqual(['applied']);
    expect(await receiptsOf(h.db, rows[0]?.id as number)).toMatchObject({ receivedCount: 5 });
  });

  it('a stale redelivery of an older status is acknowledged and changes nothing', async () => {
    const merOrderId = await create();
    sim.scenario({ kind: 'stale', merOrderId });
    sim.pay(merOrderId);
    await expect
      .poll(() => sim.deliveries.filter((d) => d.merOrderId === merOrderId && d.state === 'delivered').length, { timeout: 10_000 })
      .toBe(2);
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
  });

  it('a notification signed with a key we do not have is refused every time and changes nothing', async () => {
    const merOrderId = await create();
    sim.scenario({ kind: 'wrong-key', merOrderId });
    sim.pay(merOrderId);
    const delivery = await settled(merOrderId);
    expect(delivery.state).toBe('gave-up');
    expect(delivery.attempts.every((a) => a.httpStatus === 400 && a.answer === 'FAILED')).toBe(true);
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'NEW_ORDER', version: 1 });
  });

  it('a refund at the simulator arrives as TRADE_REFUND and is counted once', async () => {
    const merOrderId = await create('UNIONPAY_MINI', 1000);
    sim.pay(merOrderId);
    await settled(merOrderId, 'TRADE_SUCCESS');
    const refundOrderId = `${generateOrderId(DEMO.sourceId)}R`.slice(0, 30);
    await ops.refund({ merOrderId, refundOrderId, refundAmount: 400 }, 'MINIDEFAULT');
    const delivery = await settled(merOrderId, 'TRADE_REFUND');
    expect(lastAnswer(delivery)).toMatchObject({ httpStatus: 200, answer: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 400, version: 3 });
  });

  it('while the database cannot store, the endpoint answers 503; the simulator retries and nothing is lost', async () => {
    // A simulator of its own, with gaps long enough to repair the database between attempts.
    const slowSim = await startSimulator({ credentials: { ...DEMO }, notifyBackoffMs: [0, 400, 400, 400], notifyUrl, log: silent });
    const slowClient = new UmsClient({ baseUrl: slowSim.url, appId: DEMO.appId, appKey: DEMO.appKey });
    const slowOps = new UmsOperations(slowClient, { mid: DEMO.mid, tid: DEMO.tid, notifyUrl, sourceId: DEMO.sourceId });
    try {
      const merOrderId = `${generateOrderId(DEMO.sourceId)}${++n}`.slice(0, 30);
      await insertNewOrder(h.db, { merOrderId, totalAmount: 100, mid: DEMO.mid, tid: DEMO.tid });
      await slowOps.createOrder('UNIONPAY_MINI', { merOrderId, totalAmount: 100 });
      await h.db.execute(sql.raw(`create or replace function fail_write() returns trigger language plpgsql as $$
        begin raise exception 'storage unavailable (simulated)'; end $$`));
      await h.db.execute(sql.raw('create trigger fail_write before insert on notifications for each row execute function fail_write()'));
      const firstAttempt = new Promise<void>((resolve) => {
        const off = slowSim.onAttempt((d) => {
          if (d.merOrderId === merOrderId && d.attempts.length >= 1) {
            off();
            resolve();
          }
        });
      });
      slowSim.pay(merOrderId);
      await firstAttempt;
      await h.db.execute(sql.raw('drop trigger fail_write on notifications'));
      await h.db.execute(sql.raw('drop function fail_write()'));
      const delivery = await slowSim.waitForDelivery((d) => d.merOrderId === merOrderId && d.state !== 'pending', 10_000);
      expect(delivery.state).toBe('delivered');
      expect(delivery.attempts[0]).toMatchObject({ httpStatus: 503, answer: 'FAILED' });
      expect(lastAnswer(delivery)).toMatchObject({ httpStatus: 200, answer: 'SUCCESS' });
      expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2 });
    } finally {
      await slowClient.close();
      await slowSim.close();
    }
  });
});
