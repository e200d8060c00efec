/**
 * How the commands record UMS's refusals and unavailability, against a scripted UMS peer (its own
 * signature checks): a clear refusal closes the order (refund FAIL) with UMS's errCode and is
 * thrown as UMS_REJECTED; a UMS that cannot be reached is UMS_UNAVAILABLE; neither is retried.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO } from '../../../src/config.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { UmsClient } from '../../../src/ums/client.js';
import { UmsOperations } from '../../../src/ums/operations.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';
import { startUmsPeer, type PeerReply, type PeerRequest, type UmsPeer } from '../../support/ums-peer.js';
import { paymentServiceFor } from '../peer-service.js';
import { WECHAT, once } from '../sync/harness.js';

describeEachDatabase('commands when UMS says no', (kind) => {
  let database: TestDatabase;
  let peer: UmsPeer;
  let client: UmsClient;
  let service: PaymentService;
  let createReply: (req: PeerRequest) => PeerReply;
  let refundReply: (req: PeerRequest) => PeerReply;

  const ok = (req: PeerRequest, extra: Record<string, unknown>) => ({
    json: { errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId, totalAmount: req.json?.totalAmount, ...extra },
  });

  beforeAll(async () => {
    database = await kind.open();
    peer = await startUmsPeer({ appId: DEMO.appId, appKey: DEMO.appKey });
    peer.on('/v1/netpay/wx/unified-order', (req) => createReply(req));
    peer.on('/v1/netpay/query', (req) => ok(req, { status: 'TRADE_SUCCESS', totalAmount: 800 }));
    peer.on('/v1/netpay/refund', (req) => refundReply(req));
    ({ client, service } = paymentServiceFor(database.db, peer));
  });
  afterAll(async () => {
    await client?.close();
    await peer?.close();
    await database?.close();
  });

  const paymentOf = (merOrderId: string) =>
    database.db.query.payments.findFirst({ where: (p, { eq }) => eq(p.merOrderId, merOrderId) });
  const eventsOf = (merOrderId: string) =>
    database.db.query.paymentEvents.findMany({ where: (e, { eq }) => eq(e.merOrderId, merOrderId), orderBy: (e, { asc }) => asc(e.id) });

  it('a clear refusal closes the order with UMS’s errCode on its event and throws UMS_REJECTED; the same key replays it', async () => {
    createReply = () => ({ json: { errCode: 'TARGET_FAIL', errMsg: '微信下单失败' } });
    const merOrderId = `${DEMO.sourceId}REFUSED${Date.now()}`;
    const input = { ...WECHAT, totalAmount: 800, merOrderId };
    const err = await service.create(input, { idempotencyKey: `k-${merOrderId}` }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PaymentError', code: 'UMS_REJECTED', details: { merOrderId, errCode: 'TARGET_FAIL' } });
    expect((err as Error).message).toBe('UMS refused with TARGET_FAIL: 微信下单失败');
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_CLOSED' });
    const events = await eventsOf(merOrderId);
    expect(events.map((e) => e.status)).toEqual(['NEW_ORDER', 'TRADE_CLOSED']);
    expect(events[1]).toMatchObject({ source: 'MUTATION', payload: { outcome: 'refused', errCode: 'TARGET_FAIL' } });

    const calls = peer.requests.length;
    await expect(service.create(input, { idempotencyKey: `k-${merOrderId}` })).rejects.toMatchObject({ code: 'UMS_REJECTED', details: { errCode: 'TARGET_FAIL' } });
    expect(peer.requests.length).toBe(calls);
  });

  it('an ambiguous errCode (DUP_ORDER) is not a refusal: the payment is UNKNOWN for the scheduler', async () => {
    createReply = () => ({ json: { errCode: 'DUP_ORDER', errMsg: '重复订单' } });
    const { payment } = await service.create({ ...WECHAT, totalAmount: 800 }, {});
    expect(payment.status).toBe('UNKNOWN');
    expect(payment.nextSyncAt).not.toBeNull();
  });

  it('a refund UMS refuses is FAIL and UMS_REJECTED; the money stays', async () => {
    createReply = (req) => ok(req, { status: 'NEW_ORDER' });
    const { payment } = await service.create({ ...WECHAT, totalAmount: 800 }, {});
    await service.sync(payment.merOrderId);
    refundReply = () => ({ json: { errCode: 'OPERATION_NOT_ALLOWED', errMsg: '退款金额超过可退金额' } });
    const err = await service.refund({ merOrderId: payment.merOrderId, refundAmount: 100 }, once()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UMS_REJECTED', details: { errCode: 'OPERATION_NOT_ALLOWED', merOrderId: payment.merOrderId } });
    const refundOrderId = (err as { details: { refundOrderId: string } }).details.refundOrderId;
    const row = await database.db.query.refunds.findFirst({ where: (r, { eq }) => eq(r.refundOrderId, refundOrderId) });
    expect(row).toMatchObject({ status: 'FAIL', nextSyncAt: null });
    expect(await paymentOf(payment.merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', refundedAmount: 0 });
    // A failed refund holds no money: the whole amount may still be refunded.
    refundReply = (req) => ok(req, { refundStatus: 'SUCCESS', status: 'TRADE_REFUND', refundOrderId: req.json?.refundOrderId, refundAmount: 800 });
    expect((await service.refund({ merOrderId: payment.merOrderId, refundAmount: 800 }, once())).status).toBe('SUCCESS');
  });

  it('UMS that cannot be reached is UMS_UNAVAILABLE, and the order it never saw is closed', async () => {
    const down = new UmsClient({ baseUrl: 'http://127.0.0.1:9', appId: DEMO.appId, appKey: DEMO.appKey, connectTimeoutMs: 500 });
    try {
      const ops = new UmsOperations(down, { mid: DEMO.mid, tid: DEMO.tid, sourceId: DEMO.sourceId });
      const offline = new PaymentService({ db: database.db, ums: ops, client: down, sourceId: DEMO.sourceId, syncAfterMs: 60_000 });
      const err = await offline.create({ ...WECHAT, totalAmount: 10 }, {}).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UMS_UNAVAILABLE' });
      expect((err as Error).message).toBe('UMS could not be reached');
      const merOrderId = (err as { details: { merOrderId: string } }).details.merOrderId;
      expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_CLOSED' });
    } finally {
      await down.close();
    }
  });
});
