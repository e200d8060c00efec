/**
 * A refund is recorded FAIL only when UMS clearly refused the refund request itself. A
 * refund-query NO_ORDER (which may lag behind a refund UMS did make) followed by a refused
 * resend, or an errCode nobody documented, leaves the refund UNKNOWN (still reserving its
 * amount) and flags the payment for an operator.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { DEMO } from '../../../src/config.js';
import { payments, refunds } from '../../../src/db/schema.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { applyReport } from '../../../src/payments/ledger.js';
import { UmsClient } from '../../../src/ums/client.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';
import { startUmsPeer, type PeerReply, type PeerRequest, type UmsPeer } from '../../support/ums-peer.js';
import { paymentServiceFor } from '../peer-service.js';
import { WECHAT, once } from '../sync/harness.js';

describeEachDatabase('refunds UMS refuses without proving they failed', (kind) => {
  let database: TestDatabase;
  let peer: UmsPeer;
  let client: UmsClient;
  let service: PaymentService;
  let refundReply: (req: PeerRequest) => PeerReply;

  beforeAll(async () => {
    database = await kind.open();
    peer = await startUmsPeer({ appId: DEMO.appId, appKey: DEMO.appKey });
    peer.on('/v1/netpay/wx/unified-order', (req) => ({
      json: { errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId, totalAmount: req.json?.totalAmount, status: 'NEW_ORDER' },
    }));
    peer.on('/v1/netpay/refund', (req) => refundReply(req));
    // A lagging refund-query: it does not (yet) know the refund.
    peer.on('/v1/netpay/refund-query', () => ({ json: { errCode: 'NO_ORDER', errMsg: '无法找到指定的订单' } }));
    ({ client, service } = paymentServiceFor(database.db, peer));
  });
  afterAll(async () => {
    await client?.close();
    await peer?.close();
    await database?.close();
  });

  async function paidOrder(totalAmount: number): Promise<string> {
    const { payment } = await service.create({ ...WECHAT, totalAmount }, {});
    await applyReport(database.db, { merOrderId: payment.merOrderId, status: 'TRADE_SUCCESS', totalAmount }, 'NOTIFY');
    return payment.merOrderId;
  }
  const refundRow = async (id: string) => (await database.db.select().from(refunds).where(eq(refunds.refundOrderId, id)))[0]!;
  const paymentRow = async (id: string) => (await database.db.select().from(payments).where(eq(payments.merOrderId, id)))[0]!;

  it('refund-query NO_ORDER then a refused resend: the refund stays UNKNOWN, its amount reserved, the payment flagged', async () => {
    const merOrderId = await paidOrder(1000);
    // The refund's answer is lost (outcome unknown): UNKNOWN, for refund-query.
    refundReply = () => ({ status: 503, text: 'busy' });
    const refund = await service.refund({ merOrderId, refundAmount: 700 }, once());
    expect(refund.status).toBe('UNKNOWN');

    refundReply = () => ({ json: { errCode: 'OPERATION_NOT_ALLOWED', errMsg: '退款金额超过可退金额' } });
    await expect(service.settleRefund(await refundRow(refund.refundOrderId), 'SYNC')).rejects.toMatchObject({ code: 'UMS_REJECTED' });
    expect(await refundRow(refund.refundOrderId)).toMatchObject({ status: 'UNKNOWN' });
    expect(await paymentRow(merOrderId)).toMatchObject({
      status: 'TRADE_SUCCESS',
      refundedAmount: 0,
      needsReview: true,
      reviewReason: `refund-in-doubt:${refund.refundOrderId}`,
    });
    // Still pending: the 700 fen stay reserved, so no second refund can take them again.
    await expect(service.refund({ merOrderId, refundAmount: 301 }, once())).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('an errCode UMS never documented is no clear refusal: UNKNOWN, not FAIL', async () => {
    const merOrderId = await paidOrder(500);
    refundReply = () => ({ json: { errCode: 'SOMETHING_NEW', errMsg: '?' } });
    const refund = await service.refund({ merOrderId, refundAmount: 200 }, once());
    expect(refund).toMatchObject({ status: 'UNKNOWN', refundAmount: 200 });
    expect(await paymentRow(merOrderId)).toMatchObject({ needsReview: true, reviewReason: `refund-in-doubt:${refund.refundOrderId}` });
  });

  it('a clear refusal of the refund request itself is still FAIL', async () => {
    const merOrderId = await paidOrder(500);
    refundReply = () => ({ json: { errCode: 'BAD_REQUEST', errMsg: '报文格式错误' } });
    const err = await service.refund({ merOrderId, refundAmount: 200 }, once()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UMS_REJECTED', details: { errCode: 'BAD_REQUEST' } });
    const refundOrderId = (err as { details: { refundOrderId: string } }).details.refundOrderId;
    expect(await refundRow(refundOrderId)).toMatchObject({ status: 'FAIL' });
    expect(await paymentRow(merOrderId)).toMatchObject({ needsReview: false });
  });
});
