/**
 * A refund that refund-query still cannot settle when the scheduler's gaps run out (a day of
 * questions) must not go silent, pending for ever: it is marked UNKNOWN and its payment is
 * flagged for review (reason `refund-unsettled:<refundOrderId>`), with a warning in the log.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { DEMO } from '../../../src/config.js';
import { payments, refunds } from '../../../src/db/schema.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { applyReport } from '../../../src/payments/ledger.js';
import { startSyncScheduler } from '../../../src/payments/sync/scheduler.js';
import { UmsClient } from '../../../src/ums/client.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';
import { startUmsPeer, type PeerReply, type PeerRequest, type UmsPeer } from '../../support/ums-peer.js';
import { paymentServiceFor } from '../peer-service.js';
import { WECHAT, once } from './harness.js';

const AFTER_MS = 100;
/** One step that is over at once: every question about a refund is its last. */
const ONE_LAST_QUESTION = [{ untilAgeMs: 1, everyMs: 60_000 }];

describeEachDatabase('refunds still pending when the gaps run out', (kind) => {
  let database: TestDatabase;
  let peer: UmsPeer;
  let client: UmsClient;
  let service: PaymentService;
  let refundQueryReply: (req: PeerRequest) => PeerReply;

  beforeAll(async () => {
    database = await kind.open();
    peer = await startUmsPeer({ appId: DEMO.appId, appKey: DEMO.appKey });
    const common = (req: PeerRequest) => ({ errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId });
    peer.on('/v1/netpay/wx/unified-order', (req) => ({ json: { ...common(req), totalAmount: req.json?.totalAmount, status: 'NEW_ORDER' } }));
    peer.on('/v1/netpay/refund', (req) => ({
      json: { ...common(req), refundOrderId: req.json?.refundOrderId, refundAmount: req.json?.refundAmount, refundStatus: 'PROCESSING' },
    }));
    peer.on('/v1/netpay/refund-query', (req) => refundQueryReply(req));
    ({ client, service } = paymentServiceFor(database.db, peer, { syncAfterMs: AFTER_MS }));
  });
  afterAll(async () => {
    await client?.close();
    await peer?.close();
    await database?.close();
  });

  async function processingRefund(): Promise<{ merOrderId: string; refundOrderId: string }> {
    const { payment } = await service.create({ ...WECHAT, totalAmount: 900 }, {});
    await applyReport(database.db, { merOrderId: payment.merOrderId, status: 'TRADE_SUCCESS', totalAmount: 900 }, 'NOTIFY');
    const refund = await service.refund({ merOrderId: payment.merOrderId, refundAmount: 300 }, once());
    expect(refund.status).toBe('PROCESSING');
    return { merOrderId: payment.merOrderId, refundOrderId: refund.refundOrderId };
  }

  async function lastRound(): Promise<string[]> {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const scheduler = startSyncScheduler({
      db: database.db,
      commands: service,
      config: { afterMs: AFTER_MS, intervalMs: 50, autoStart: false, gaps: ONE_LAST_QUESTION },
      log,
      // Past the quiet period at once, as if AFTER_MS had gone by.
      now: () => new Date(Date.now() + AFTER_MS + 20),
    });
    try {
      await scheduler.runOnce();
    } finally {
      await scheduler.stop();
    }
    return lines;
  }

  const state = async ({ merOrderId, refundOrderId }: { merOrderId: string; refundOrderId: string }) => ({
    payment: (await database.db.select().from(payments).where(eq(payments.merOrderId, merOrderId)))[0]!,
    refund: (await database.db.select().from(refunds).where(eq(refunds.refundOrderId, refundOrderId)))[0]!,
  });

  it('UMS still says PROCESSING on the last question: UNKNOWN, flagged for review, and said in the log', async () => {
    const ids = await processingRefund();
    refundQueryReply = (req) => ({ json: { errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId, refundOrderId: ids.refundOrderId, refundStatus: 'PROCESSING' } });
    const lines = await lastRound();
    const { payment, refund } = await state(ids);
    expect(refund).toMatchObject({ status: 'UNKNOWN', nextSyncAt: null });
    expect(payment).toMatchObject({ status: 'TRADE_SUCCESS', needsReview: true, reviewReason: `refund-unsettled:${ids.refundOrderId}` });
    expect(lines.some((l) => l.includes(ids.refundOrderId) && l.includes('not settled after a day'))).toBe(true);
  });

  it('UMS cannot answer the last question: flagged for review all the same', async () => {
    const ids = await processingRefund();
    refundQueryReply = () => ({ status: 503, text: 'busy' });
    await lastRound();
    const { payment, refund } = await state(ids);
    expect(refund.status).toBe('UNKNOWN');
    expect(payment).toMatchObject({ needsReview: true, reviewReason: `refund-unsettled:${ids.refundOrderId}` });
  });

  it('a refund settled on the last question needs nobody', async () => {
    const ids = await processingRefund();
    refundQueryReply = (req) => ({
      json: { errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId, refundOrderId: ids.refundOrderId, refundAmount: 300, refundStatus: 'SUCCESS' },
    });
    await lastRound();
    const { payment, refund } = await state(ids);
    expect(refund.status).toBe('SUCCESS');
    expect(payment).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 300, needsReview: false });
  });
});
