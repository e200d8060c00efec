/**
 * The sync scheduler against the real simulator over HTTP, the real client and a real
 * database: lost notifications, expiry, refunds left PROCESSING or UNKNOWN, several instances on
 * one Postgres database, and stopping in the middle of a round.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { DEMO } from '../../../src/config.js';
import { openDatabase, type DatabaseHandle } from '../../../src/db/database.js';
import { payments, type PaymentRow } from '../../../src/db/schema.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { DEFAULT_GAPS, nextSyncAt } from '../../../src/payments/sync/gaps.js';
import { startSyncScheduler, type SyncCommands, type SyncScheduler } from '../../../src/payments/sync/scheduler.js';
import type { EventSource } from '../../../src/payments/status.js';
import { UmsClient } from '../../../src/ums/client.js';
import { describeEachDatabase, describePostgres, pgliteDatabase, postgresDatabase, type TestDatabase } from '../../support/db.js';
import { startUmsPeer, type PeerReply, type PeerRequest, type UmsPeer } from '../../support/ums-peer.js';
import { paymentServiceFor } from '../peer-service.js';
import { WECHAT, once, silent, startSlice, statusHeard, testClock, type Slice } from './harness.js';

const AFTER_MS = 200;

/** The scheduler's view of the commands, as plain functions (so one can be wrapped). */
function bind(service: PaymentService): SyncCommands {
  return {
    syncPayment: (payment, source) => service.syncPayment(payment, source),
    closePayment: (payment, source) => service.closePayment(payment, source),
    settleRefund: (refund, source) => service.settleRefund(refund, source),
  };
}

describe('growing gaps', () => {
  const created = new Date('2026-01-01T00:00:00Z');
  const at = (minutes: number) => new Date(created.getTime() + minutes * 60_000);
  const gap = (minutes: number) => (nextSyncAt(created, at(minutes))!.getTime() - at(minutes).getTime()) / 60_000;

  it('asks about every minute for ten minutes, every ten minutes to an hour, hourly to a day, then stops', () => {
    expect(gap(1)).toBe(1);
    expect(gap(9.9)).toBe(1);
    expect(gap(10)).toBe(10);
    expect(gap(59)).toBe(10);
    expect(gap(60)).toBe(60);
    expect(gap(23 * 60 + 59)).toBe(60);
    expect(nextSyncAt(created, at(24 * 60))).toBeNull();
  });

  it('never plans past a coming expiry, so the order is looked at (and closed) when it expires', () => {
    const expire = at(35);
    expect(nextSyncAt(created, at(30), DEFAULT_GAPS, expire)).toEqual(expire);
    expect(nextSyncAt(created, at(40), DEFAULT_GAPS, expire)).toEqual(at(50));
  });
});

describeEachDatabase('sync scheduler', (kind) => {
  let s: Slice;
  let scheduler: SyncScheduler | undefined;
  let clock = testClock();
  beforeAll(async () => {
    s = await startSlice(await kind.open(), { syncAfterMs: AFTER_MS });
  });
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    clock = testClock();
  });
  afterAll(async () => {
    await s?.close();
    await s?.database.close();
  });

  const start = (autoStart = false) =>
    (scheduler = startSyncScheduler({
      db: s.database.db,
      commands: s.service,
      config: { afterMs: AFTER_MS, intervalMs: 50, autoStart },
      log: silent,
      now: () => clock.now(),
    }));

  it('turns a payment whose notification was lost into TRADE_SUCCESS by itself, within the configured time', async () => {
    start(true);
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 1234 }, {});
    const heard = statusHeard(s.bus, payment.merOrderId, 'TRADE_SUCCESS');
    s.sim.pay(payment.merOrderId, { notify: false });
    const began = Date.now();
    await heard;
    // afterMs of quiet, then about one interval and the query: seconds at most, even on a busy machine.
    expect(Date.now() - began).toBeLessThan(AFTER_MS + 50 + 10_000);
    expect(await s.payment(payment.merOrderId)).toMatchObject({ buyerPayAmount: 1234, nextSyncAt: null });
    expect(s.sim.deliveries.filter((d) => d.merOrderId === payment.merOrderId)).toHaveLength(0);
    const events = await s.events(payment.merOrderId);
    expect(events.at(-1)).toMatchObject({ source: 'SYNC', status: 'TRADE_SUCCESS' });
  });

  it('leaves orders with recent news alone, and keeps asking about open ones with a gap', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 10 }, {});
    const sched = start();
    // Rounds as of the moment of the order's news and of just under AFTER_MS after it: the wall
    // clock would let a slow create (a loaded machine) age the news past AFTER_MS before the round.
    const news = (await s.payment(payment.merOrderId)).lastEventAt!;
    clock.at = news;
    expect((await sched.runOnce()).payments).not.toContain(payment.merOrderId);
    clock.at = new Date(news.getTime() + AFTER_MS - 1);
    expect((await sched.runOnce()).payments).not.toContain(payment.merOrderId);
    clock.at = undefined;
    clock.ahead = AFTER_MS + 20;
    expect((await sched.runOnce()).payments).toContain(payment.merOrderId);
    const row = await s.payment(payment.merOrderId);
    expect(row.status).not.toBe('TRADE_SUCCESS');
    expect(row.syncAttempts).toBe(1);
    // The next question is about a minute away: not in the next round.
    expect(row.nextSyncAt!.getTime() - Date.now()).toBeGreaterThan(50_000);
    expect((await sched.runOnce()).payments).not.toContain(payment.merOrderId);
  });

  it('closes an expired order at UMS, not only locally', async () => {
    // UMS times are whole seconds: expire 1.5 s from now.
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 20, expireTime: new Date(Date.now() + 1_500) }, {});
    clock.ahead = 1_600;
    const closes: string[] = [];
    const commands = { ...bind(s.service), closePayment: (p: PaymentRow, src: EventSource) => (closes.push(p.merOrderId), s.service.closePayment(p, src)) };
    const config = { afterMs: AFTER_MS, intervalMs: 50, autoStart: false };
    const report = await (scheduler = startSyncScheduler({ db: s.database.db, commands, config, log: silent, now: () => clock.now() })).runOnce();
    expect(closes).toEqual([payment.merOrderId]);
    expect(report.closed).toContain(payment.merOrderId);
    expect(s.sim.order(payment.merOrderId)?.status).toBe('TRADE_CLOSED');
    expect(await s.payment(payment.merOrderId)).toMatchObject({ status: 'TRADE_CLOSED', nextSyncAt: null });
    expect((await s.events(payment.merOrderId)).at(-1)).toMatchObject({ source: 'SYNC', status: 'TRADE_CLOSED' });
  });

  it('does not close an expired order the buyer paid: UMS refuses the close and the query tells', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 30, expireTime: new Date(Date.now() + 1_500) }, {});
    s.sim.pay(payment.merOrderId, { notify: false });
    clock.ahead = 1_600;
    const report = await start().runOnce();
    expect(report.closed).not.toContain(payment.merOrderId);
    expect((await s.payment(payment.merOrderId)).status).toBe('TRADE_SUCCESS');
  });

  it('settles a refund whose answer was ambiguous (UNKNOWN) through refund-query', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 900 }, {});
    await s.service.simulatePayment!(payment.merOrderId, 'TRADE_SUCCESS');
    s.sim.scenario({ kind: 'errcode', errCode: 'ORDER_PROCESSING', apply: true, path: '/v1/netpay/refund' });
    // The simulator's TRADE_REFUND notification is held back: only refund-query can tell.
    s.sim.scenario({ kind: 'delay', delayMs: 60_000, merOrderId: payment.merOrderId });
    const refund = await s.service.refund({ merOrderId: payment.merOrderId, refundAmount: 400 }, once());
    expect(refund.status).toBe('UNKNOWN');
    expect(s.sim.order(payment.merOrderId)?.refundedAmount).toBe(400);
    expect((await s.payment(payment.merOrderId)).refundedAmount).toBe(0);

    clock.ahead = AFTER_MS + 20;
    const report = await start().runOnce();
    expect(report.refundsSettled).toContainEqual({ refundOrderId: refund.refundOrderId, status: 'SUCCESS' });
    expect(await s.refund(refund.refundOrderId)).toMatchObject({ status: 'SUCCESS', nextSyncAt: null });
    expect(await s.payment(payment.merOrderId)).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 400 });
  });

  it('stop() lets the round in progress finish and store what UMS said', async () => {
    const { payment } = await s.service.create({ ...WECHAT, totalAmount: 40 }, {});
    s.sim.pay(payment.merOrderId, { notify: false });
    clock.ahead = AFTER_MS + 20;
    s.sim.scenario({ kind: 'slow', delayMs: 400, path: '/v1/netpay/query' });
    let asking!: () => void;
    const asked = new Promise<void>((resolve) => (asking = resolve));
    const commands = { ...bind(s.service), syncPayment: (p: PaymentRow, src: EventSource) => (asking(), s.service.syncPayment(p, src)) };
    const sched = (scheduler = startSyncScheduler({ db: s.database.db, commands, config: { afterMs: AFTER_MS, intervalMs: 50, autoStart: false }, log: silent, now: () => clock.now() }));
    const round = sched.runOnce();
    await asked; // the round is asking UMS now
    await sched.stop();
    expect((await s.payment(payment.merOrderId)).status).toBe('TRADE_SUCCESS');
    expect((await round).changed).toContainEqual({ merOrderId: payment.merOrderId, from: expect.any(String), to: 'TRADE_SUCCESS' });
  });
});

/** A scheduler clock past the quiet period: what sleeping AFTER_MS would give. */
const later = () => new Date(Date.now() + AFTER_MS + 20);

describe('a refund that first answers PROCESSING', () => {
  let peer: UmsPeer;
  let database: TestDatabase;
  let client: UmsClient;
  let service: PaymentService;
  let refundQueryAnswer: Record<string, unknown> = {};
  const refundAnswer = (req: PeerRequest, refundStatus: string): PeerReply => ({
    json: {
      errCode: 'SUCCESS',
      mid: DEMO.mid,
      tid: DEMO.tid,
      merOrderId: req.json?.merOrderId,
      totalAmount: 500,
      status: 'TRADE_SUCCESS',
      refundStatus,
      refundOrderId: req.json?.refundOrderId,
      refundAmount: req.json?.refundAmount,
    },
  });
  let refundReply: (req: PeerRequest) => PeerReply = (req) => refundAnswer(req, 'PROCESSING');

  beforeAll(async () => {
    database = await pgliteDatabase();
    peer = await startUmsPeer({ appId: DEMO.appId, appKey: DEMO.appKey });
    const common = (req: { json: Record<string, unknown> | undefined }) => ({
      errCode: 'SUCCESS',
      mid: DEMO.mid,
      tid: DEMO.tid,
      merOrderId: req.json?.merOrderId,
      totalAmount: 500,
    });
    peer.on('/v1/netpay/wx/unified-order', (req) => ({ json: { ...common(req), status: 'NEW_ORDER', targetSys: 'WXPay', miniPayRequest: { package: 'prepay_id=x' } } }));
    peer.on('/v1/netpay/query', (req) => ({ json: { ...common(req), status: 'TRADE_SUCCESS', payTime: '2026-01-01 10:00:00', buyerPayAmount: 500 } }));
    peer.on('/v1/netpay/refund', (req) => refundReply(req));
    peer.on('/v1/netpay/refund-query', (req) =>
      refundQueryAnswer.errCode === 'NO_ORDER'
        ? { json: { errCode: 'NO_ORDER', errMsg: '无法找到指定的订单' } }
        : { json: { ...common(req), refundOrderId: req.json?.refundOrderId, ...refundQueryAnswer } },
    );
    ({ client, service } = paymentServiceFor(database.db, peer, { syncAfterMs: AFTER_MS, headersTimeoutMs: 2_000 }));
  });
  afterAll(async () => {
    await client?.close();
    await peer?.close();
    await database?.close();
  });

  it('stays pending (never failed) while UMS says PROCESSING, and ends SUCCESS through refund-query', async () => {
    const { payment } = await service.create({ ...WECHAT, totalAmount: 500 }, {});
    expect((await service.sync(payment.merOrderId)).status).toBe('TRADE_SUCCESS');
    const refund = await service.refund({ merOrderId: payment.merOrderId, refundAmount: 200 }, once());
    expect(refund.status).toBe('PROCESSING');

    // A second refund may not spend money that the pending one holds.
    await expect(service.refund({ merOrderId: payment.merOrderId, refundAmount: 301 }, once())).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });

    const scheduler = startSyncScheduler({ db: database.db, commands: service, config: { afterMs: AFTER_MS, intervalMs: 50, autoStart: false }, log: silent, now: later });
    try {
      refundQueryAnswer = { refundStatus: 'PROCESSING' };
      const first = await scheduler.runOnce();
      expect(first.refunds).toContain(refund.refundOrderId);
      const stillPending = await database.db.query.refunds.findFirst({ where: (r, { eq: is }) => is(r.refundOrderId, refund.refundOrderId) });
      expect(stillPending?.status).toBe('PROCESSING');

      // The next question is a gap away; bring it forward as time passing would.
      await database.db.execute(`update refunds set next_sync_at = now() - interval '1 second' where refund_order_id = '${refund.refundOrderId}'` as never);
      refundQueryAnswer = { refundStatus: 'SUCCESS', refundAmount: 200, refundTargetOrderId: '50300509862026' };
      const second = await scheduler.runOnce();
      expect(second.refundsSettled).toContainEqual({ refundOrderId: refund.refundOrderId, status: 'SUCCESS' });
    } finally {
      await scheduler.stop();
    }
    const [row] = await database.db.select().from(payments).where(eq(payments.merOrderId, payment.merOrderId));
    expect(row).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 200 });
    const settled = await database.db.query.refunds.findFirst({ where: (r, { eq: is }) => is(r.refundOrderId, refund.refundOrderId) });
    expect(settled).toMatchObject({ status: 'SUCCESS', refundTargetOrderId: '50300509862026' });
  });

  it('does not ask again every round about an open order whose answer needs a person (amount mismatch)', async () => {
    const { payment } = await service.create({ ...WECHAT, totalAmount: 700 }, {});
    // The peer's query answers WAIT_BUYER_PAY with totalAmount 500 (not 700): flagged for review.
    peer.on('/v1/netpay/query', (req) => ({
      json: { errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId, totalAmount: 500, status: 'WAIT_BUYER_PAY' },
    }));
    const scheduler = startSyncScheduler({ db: database.db, commands: service, config: { afterMs: AFTER_MS, intervalMs: 50, autoStart: false }, log: silent, now: later });
    try {
      expect((await scheduler.runOnce()).payments).toContain(payment.merOrderId);
      const [row] = await database.db.select().from(payments).where(eq(payments.merOrderId, payment.merOrderId));
      expect(row).toMatchObject({ needsReview: true, status: 'NEW_ORDER' });
      expect(row!.nextSyncAt!.getTime() - Date.now()).toBeGreaterThan(50_000);
    } finally {
      await scheduler.stop();
      peer.on('/v1/netpay/query', (req) => ({
        json: { errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId, totalAmount: 500, status: 'TRADE_SUCCESS', payTime: '2026-01-01 10:00:00', buyerPayAmount: 500 },
      }));
    }
  });

  it('resends a timed-out refund that UMS never received with the SAME refundOrderId, never a new one', async () => {
    const { payment } = await service.create({ ...WECHAT, totalAmount: 500 }, {});
    await service.sync(payment.merOrderId);
    // Headers far later than the client's 2 s timeout: the refund's outcome is unknown.
    refundReply = (req) => ({ ...refundAnswer(req, 'SUCCESS'), delayHeadersMs: 10_000 });
    const refund = await service.refund({ merOrderId: payment.merOrderId, refundAmount: 100 }, once());
    expect(refund.status).toBe('UNKNOWN');

    refundQueryAnswer = { errCode: 'NO_ORDER' };
    refundReply = (req) => refundAnswer(req, 'SUCCESS');
    const scheduler = startSyncScheduler({ db: database.db, commands: service, config: { afterMs: AFTER_MS, intervalMs: 50, autoStart: false }, log: silent, now: later });
    try {
      const report = await scheduler.runOnce();
      expect(report.refundsSettled).toContainEqual({ refundOrderId: refund.refundOrderId, status: 'SUCCESS' });
    } finally {
      await scheduler.stop();
    }
    const sent = peer.requests.filter((r) => r.path === '/v1/netpay/refund' && r.json?.merOrderId === payment.merOrderId);
    expect(sent.map((r) => r.json?.refundOrderId)).toEqual([refund.refundOrderId, refund.refundOrderId]);
    const [row] = await database.db.select().from(payments).where(eq(payments.merOrderId, payment.merOrderId));
    expect(row).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 100 });
  });
});

describePostgres('two scheduler instances on one Postgres database', () => {
  let s: Slice;
  let second: DatabaseHandle;
  beforeAll(async () => {
    s = await startSlice(await postgresDatabase({ maxConnections: 8 }), { syncAfterMs: AFTER_MS });
    second = await openDatabase({ url: s.database.url!, maxConnections: 8 });
  });
  afterAll(async () => {
    await second?.close();
    await s?.close();
    await s?.database.close();
  });

  /** Commands that note every order they are asked to query, per instance. */
  function recording(service: PaymentService, seen: string[]): SyncCommands {
    return {
      syncPayment: async (payment, source) => {
        seen.push(payment.merOrderId);
        return service.syncPayment(payment, source);
      },
      closePayment: (payment, source) => service.closePayment(payment, source),
      settleRefund: (refund, source) => service.settleRefund(refund, source),
    };
  }

  it('never query the same payment in the same round, and together cover every due payment', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { payment } = await s.service.create({ ...WECHAT, totalAmount: 100 + i }, {});
      if (i % 2 === 0) s.sim.pay(payment.merOrderId, { notify: false });
      ids.push(payment.merOrderId);
    }

    const serviceB = new PaymentService({ db: second.db, ums: s.ops, client: s.client, sourceId: DEMO.sourceId, syncAfterMs: AFTER_MS, log: silent });
    const seenA: string[] = [];
    const seenB: string[] = [];
    const config = { afterMs: AFTER_MS, intervalMs: 50, autoStart: false, batchSize: 25 };
    const a = startSyncScheduler({ db: s.database.db, commands: recording(s.service, seenA), config, log: silent, now: later });
    const b = startSyncScheduler({ db: second.db, commands: recording(serviceB, seenB), config, log: silent, now: later });
    try {
      // Several rounds each, at the same time: every due order is claimed exactly once.
      for (let round = 0; round < 3; round++) await Promise.all([a.runOnce(), b.runOnce()]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const all = [...seenA, ...seenB].filter((id) => ids.includes(id));
    expect(new Set(all).size).toBe(all.length);
    expect([...new Set(all)].sort()).toEqual([...ids].sort());
    expect(seenA.length).toBeGreaterThan(0);
    expect(seenB.length).toBeGreaterThan(0);

    const rows = await s.database.db.select().from(payments);
    const paid = rows.filter((r) => ids.includes(r.merOrderId) && r.status === 'TRADE_SUCCESS');
    expect(paid).toHaveLength(20);
  });
});
