/**
 * An Idempotency-Key retried after the database failed AFTER UMS had accepted the order or the
 * refund (or after the request died outright) must ask UMS about the SAME merOrderId /
 * refundOrderId again, never send a second order or a second refund under a new id.
 *
 * The database failure is real: a trigger raises on the write that records UMS's answer, once.
 * UMS is a scripted peer that behaves like UMS on repeats: a create with a known merOrderId is
 * DUP_ORDER, a refund with a known refundOrderId answers the earlier refund.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { DEMO } from '../../../src/config.js';
import { payments, refunds } from '../../../src/db/schema.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { Idempotency } from '../../../src/payments/idempotency.js';
import { applyReport } from '../../../src/payments/ledger.js';
import { UmsClient } from '../../../src/ums/client.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';
import { startUmsPeer, type PeerRequest, type UmsPeer } from '../../support/ums-peer.js';
import { paymentServiceFor, type PeerService } from '../peer-service.js';
import { WECHAT } from '../sync/harness.js';
import { installFaults, isInjectedFault, type Faults } from '../../support/faults.js';

const CREATE_PATH = '/v1/netpay/wx/unified-order';
const REFUND_PATH = '/v1/netpay/refund';

describeEachDatabase('commands retried under one Idempotency-Key after a failure', (kind) => {
  let database: TestDatabase;
  let peer: UmsPeer;
  let client: UmsClient;
  let wired: PeerService;
  let service: PaymentService;
  let faults: Faults;
  const umsOrders = new Map<string, number>();
  const umsRefunds = new Map<string, number>();

  beforeAll(async () => {
    database = await kind.open();
    peer = await startUmsPeer({ appId: DEMO.appId, appKey: DEMO.appKey });
    const base = (req: PeerRequest) => ({ errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId });
    peer.on(CREATE_PATH, (req) => {
      const merOrderId = String(req.json?.merOrderId);
      if (umsOrders.has(merOrderId)) return { json: { errCode: 'DUP_ORDER', errMsg: '重复订单' } };
      umsOrders.set(merOrderId, Number(req.json?.totalAmount));
      return { json: { ...base(req), totalAmount: req.json?.totalAmount, status: 'WAIT_BUYER_PAY', miniPayRequest: { signType: 'RSA' } } };
    });
    peer.on('/v1/netpay/query', (req) => {
      const total = umsOrders.get(String(req.json?.merOrderId));
      if (total === undefined) return { json: { errCode: 'NO_ORDER', errMsg: '无法找到指定的订单' } };
      return { json: { ...base(req), totalAmount: total, status: 'WAIT_BUYER_PAY' } };
    });
    peer.on(REFUND_PATH, (req) => {
      // UMS deduplicates refunds by refundOrderId: a repeat answers the earlier refund.
      const refundOrderId = String(req.json?.refundOrderId);
      umsRefunds.set(refundOrderId, Number(req.json?.refundAmount));
      return { json: { ...base(req), refundOrderId, refundAmount: req.json?.refundAmount, refundStatus: 'SUCCESS', status: 'TRADE_REFUND' } };
    });
    wired = paymentServiceFor(database.db, peer);
    ({ client, service } = wired);

    // Faults on demand: recording UMS's answer to a create (any event but 'created'), to a refund,
    // and the retry marker itself (with it failing, the request looks as if it had died).
    faults = await installFaults(database.db, [
      { name: 'event', on: `before insert on payment_events for each row when (new.reason <> 'created')` },
      { name: 'refund', on: 'before update on refunds for each row' },
      { name: 'key', on: 'before update on idempotency_keys for each row' },
    ]);
  });
  afterAll(async () => {
    await client?.close();
    await peer?.close();
    await database?.close();
  });
  beforeEach(async () => {
    await clearFaults();
  });

  const fault = (...names: string[]) => faults.on(...names);
  const clearFaults = () => faults.clear();
  const sentIds = (path: string, field: string) => peer.requests.filter((r) => r.path === path).map((r) => String(r.json?.[field]));

  async function paidOrder(totalAmount: number): Promise<string> {
    const { payment } = await service.create({ ...WECHAT, totalAmount }, {});
    await applyReport(database.db, { merOrderId: payment.merOrderId, status: 'TRADE_SUCCESS', totalAmount }, 'NOTIFY');
    return payment.merOrderId;
  }

  it('a refund whose answer could not be stored is retried with the same refundOrderId: one refund at UMS', async () => {
    const merOrderId = await paidOrder(1000);
    const input = { merOrderId, refundAmount: 300 };
    const key = `refund-db-${merOrderId}`;
    const before = sentIds(REFUND_PATH, 'refundOrderId').length;

    await fault('refund');
    await expect(service.refund(input, { idempotencyKey: key })).rejects.toSatisfy(isInjectedFault);
    await clearFaults();

    const retried = await service.refund(input, { idempotencyKey: key });
    const sent = sentIds(REFUND_PATH, 'refundOrderId').slice(before);
    expect(new Set(sent)).toEqual(new Set([retried.refundOrderId]));
    expect(retried).toMatchObject({ status: 'SUCCESS', refundAmount: 300 });
    const rows = await database.db.select().from(refunds).where(eq(refunds.merOrderId, merOrderId));
    expect(rows).toHaveLength(1);
    const [payment] = await database.db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
    expect(payment).toMatchObject({ status: 'TRADE_REFUND', refundedAmount: 300 });
    // The key stays bound to its input while it waits for the retry.
    expect(await service.refund(input, { idempotencyKey: key })).toMatchObject({ refundOrderId: retried.refundOrderId, status: 'SUCCESS' });
  });

  it('a refund request that died mid-way is taken over with the same refundOrderId', async () => {
    let now = new Date();
    const idempotency = new Idempotency(database.db, { now: () => now, abandonAfterMs: 60_000, waitMs: 100 });
    const impatient = wired.another({ idempotency });
    const merOrderId = await paidOrder(1000);
    const input = { merOrderId, refundAmount: 400 };
    const key = `refund-died-${merOrderId}`;
    const before = sentIds(REFUND_PATH, 'refundOrderId').length;

    // Neither the answer nor the retry marker can be written: the claim stays as a crash leaves it.
    await fault('refund', 'key');
    await expect(impatient.refund(input, { idempotencyKey: key })).rejects.toSatisfy(isInjectedFault);
    await clearFaults();
    await expect(impatient.refund(input, { idempotencyKey: key })).rejects.toMatchObject({ code: 'CONFLICT' });

    now = new Date(now.getTime() + 61_000);
    const taken = await impatient.refund(input, { idempotencyKey: key });
    expect(new Set(sentIds(REFUND_PATH, 'refundOrderId').slice(before))).toEqual(new Set([taken.refundOrderId]));
    expect(await database.db.select().from(refunds).where(eq(refunds.merOrderId, merOrderId))).toHaveLength(1);
    expect(taken).toMatchObject({ status: 'SUCCESS', refundAmount: 400 });
  });

  it('an order whose answer could not be stored is retried with the same merOrderId: one order at UMS', async () => {
    const key = `create-db-${Date.now()}`;
    const input = { ...WECHAT, totalAmount: 555, description: 'retry' };
    const before = sentIds(CREATE_PATH, 'merOrderId').length;

    await fault('event');
    await expect(service.create(input, { idempotencyKey: key })).rejects.toSatisfy(isInjectedFault);
    await clearFaults();

    const retried = await service.create(input, { idempotencyKey: key });
    const sent = sentIds(CREATE_PATH, 'merOrderId').slice(before);
    expect(new Set(sent)).toEqual(new Set([retried.payment.merOrderId]));
    // UMS said DUP_ORDER to the repeat: the gateway asked, and stores what UMS knows.
    expect(retried.payment).toMatchObject({ status: 'WAIT_BUYER_PAY', totalAmount: 555 });
    const rows = await database.db.select().from(payments).where(eq(payments.description, 'retry'));
    expect(rows).toHaveLength(1);
  });

  it('the key of a failed request stays bound to its input: another input is refused', async () => {
    const key = `create-bound-${Date.now()}`;
    await fault('event');
    await expect(service.create({ ...WECHAT, totalAmount: 556 }, { idempotencyKey: key })).rejects.toSatisfy(isInjectedFault);
    await clearFaults();
    await expect(service.create({ ...WECHAT, totalAmount: 557 }, { idempotencyKey: key })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });
});
