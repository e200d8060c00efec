/**
 * Whose Idempotency-Key a refund is under: the payment's merchant's, whoever calls (a key bound to
 * that merchant or a gateway-wide one), so two callers of one refund with one key never refund
 * twice. resolveReview's own refund keys are in a namespace of their own: a caller who sends
 * `review-refund:<merOrderId>:<case>` first cannot block (or answer for) the operator's refund,
 * and that refund records the acting key.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { DEMO } from '../../../src/config.js';
import { paymentEvents, refunds } from '../../../src/db/schema.js';
import type { PaymentService } from '../../../src/payments/commands.js';
import { applyReport, flagPaymentForReview, paymentUnderReview } from '../../../src/payments/ledger.js';
import type { UmsClient } from '../../../src/ums/client.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';
import { startUmsPeer, type PeerRequest, type UmsPeer } from '../../support/ums-peer.js';
import { paymentServiceFor } from '../peer-service.js';
import { WECHAT } from '../sync/harness.js';

describeEachDatabase('refund Idempotency-Keys', (kind) => {
  let database: TestDatabase;
  let peer: UmsPeer;
  let client: UmsClient;
  let service: PaymentService;
  const umsOrders = new Map<string, { total: number; paid: boolean }>();

  beforeAll(async () => {
    database = await kind.open();
    peer = await startUmsPeer({ appId: DEMO.appId, appKey: DEMO.appKey });
    const base = (req: PeerRequest) => ({ errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId });
    peer.on('/v1/netpay/wx/unified-order', (req) => {
      umsOrders.set(String(req.json?.merOrderId), { total: Number(req.json?.totalAmount), paid: false });
      return { json: { ...base(req), totalAmount: req.json?.totalAmount, status: 'WAIT_BUYER_PAY', miniPayRequest: { signType: 'RSA' } } };
    });
    peer.on('/v1/netpay/query', (req) => {
      const order = umsOrders.get(String(req.json?.merOrderId));
      if (!order) return { json: { errCode: 'NO_ORDER', errMsg: '无法找到指定的订单' } };
      return { json: { ...base(req), totalAmount: order.total, status: order.paid ? 'TRADE_SUCCESS' : 'WAIT_BUYER_PAY' } };
    });
    peer.on('/v1/netpay/refund', (req) => ({
      json: { ...base(req), refundOrderId: req.json?.refundOrderId, refundAmount: req.json?.refundAmount, refundStatus: 'SUCCESS', status: 'TRADE_REFUND' },
    }));
    // A second merchant, shop2, served by the same fake UMS (its own credentials are not the point here).
    const made = paymentServiceFor(database.db, peer);
    client = made.client;
    const shop2 = { id: 'shop2', enabled: true, sourceId: DEMO.sourceId, ums: made.ops, client };
    service = made.another({ merchants: { merchant: (id) => (id === 'shop2' ? shop2 : undefined) } });
  });
  afterAll(async () => {
    await client?.close();
    await peer?.close();
    await database?.close();
  });

  async function paidOrder(totalAmount: number, merchantId?: string): Promise<string> {
    const { payment } = await service.create({ ...WECHAT, totalAmount }, merchantId !== undefined ? { merchantId } : {});
    umsOrders.get(payment.merOrderId)!.paid = true;
    await applyReport(database.db, { merOrderId: payment.merOrderId, status: 'TRADE_SUCCESS', totalAmount }, 'NOTIFY');
    return payment.merOrderId;
  }

  it("is the payment's merchant's key, whether its merchant's key or a gateway-wide one sends it", async () => {
    const merOrderId = await paidOrder(1000, 'shop2');
    const input = { merOrderId, refundAmount: 100 };
    const key = `both-${merOrderId}`;
    const byGateway = await service.refund(input, { idempotencyKey: key });
    const byMerchant = await service.refund(input, { idempotencyKey: key, merchantId: 'shop2' });
    expect(byMerchant.refundOrderId).toBe(byGateway.refundOrderId);
    expect(await database.db.select().from(refunds).where(eq(refunds.merOrderId, merOrderId))).toHaveLength(1);
  });

  it("resolveReview's refund key is out of callers' reach, and its refund records the acting key", async () => {
    const merOrderId = await paidOrder(1000);
    await flagPaymentForReview(database.db, merOrderId, 'test: refund it');
    const { caseNumber } = await paymentUnderReview(database.db, merOrderId);
    // A caller takes the very key resolveReview will derive, for a refund of 1 fen.
    await service.refund({ merOrderId, refundAmount: 1 }, { idempotencyKey: `review-refund:${merOrderId}:${caseNumber}` });
    const resolved = await service.resolveReview({ merOrderId, resolution: 'REFUND', note: 'refund the rest', actor: 'key_operator1' });
    expect(resolved).toMatchObject({ needsReview: false, refundedAmount: 1000 });
    const rows = await database.db.select().from(refunds).where(eq(refunds.merOrderId, merOrderId));
    expect(rows.map((r) => r.refundAmount).sort((a, b) => a - b)).toEqual([1, 999]);
    const refundEvents = await database.db
      .select({ actor: paymentEvents.actor })
      .from(paymentEvents)
      .where(and(eq(paymentEvents.merOrderId, merOrderId), eq(paymentEvents.source, 'MUTATION'), eq(paymentEvents.status, 'TRADE_REFUND')));
    expect(refundEvents.map((e) => e.actor)).toContain('key_operator1');
  });
});
