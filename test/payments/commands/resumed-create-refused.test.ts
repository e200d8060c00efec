/**
 * A create resent under the same Idempotency-Key (the first answer could not be stored) that UMS
 * now refuses is not proof that no order exists at UMS: the first send may have created it. The
 * payment becomes UNKNOWN and is settled by query, never closed locally.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { DEMO } from '../../../src/config.js';
import { paymentEvents, payments } from '../../../src/db/schema.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { UmsClient } from '../../../src/ums/client.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';
import { startUmsPeer, type PeerRequest, type UmsPeer } from '../../support/ums-peer.js';
import { paymentServiceFor } from '../peer-service.js';
import { WECHAT } from '../sync/harness.js';
import { installFaults, isInjectedFault, type Faults } from '../../support/faults.js';

describeEachDatabase('commands: a resent create that UMS refuses', (kind) => {
  let database: TestDatabase;
  let peer: UmsPeer;
  let client: UmsClient;
  let service: PaymentService;
  let faults: Faults;
  const umsOrders = new Map<string, number>();
  let queryAnswers = true;

  beforeAll(async () => {
    database = await kind.open();
    peer = await startUmsPeer({ appId: DEMO.appId, appKey: DEMO.appKey });
    const base = (req: PeerRequest) => ({ errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId });
    peer.on('/v1/netpay/wx/unified-order', (req) => {
      const merOrderId = String(req.json?.merOrderId);
      // A repeat is answered with a clear refusal (not DUP_ORDER), as a UMS in a bad mood might.
      if (umsOrders.has(merOrderId)) return { json: { errCode: 'TARGET_FAIL', errMsg: '微信下单失败' } };
      umsOrders.set(merOrderId, Number(req.json?.totalAmount));
      return { json: { ...base(req), totalAmount: req.json?.totalAmount, status: 'WAIT_BUYER_PAY', miniPayRequest: { signType: 'RSA' } } };
    });
    peer.on('/v1/netpay/query', (req) => {
      if (!queryAnswers) return { status: 503, json: {} };
      const total = umsOrders.get(String(req.json?.merOrderId));
      if (total === undefined) return { json: { errCode: 'NO_ORDER', errMsg: '无法找到指定的订单' } };
      return { json: { ...base(req), totalAmount: total, status: 'WAIT_BUYER_PAY' } };
    });
    ({ client, service } = paymentServiceFor(database.db, peer));

    // Recording UMS's answer to a create (any event but 'created') fails while the fault is on.
    faults = await installFaults(database.db, [
      { name: 'event', on: `before insert on payment_events for each row when (new.reason <> 'created')` },
    ]);
  });
  afterAll(async () => {
    await client?.close();
    await peer?.close();
    await database?.close();
  });

  const failFirstAnswer = async (key: string, input: typeof WECHAT & { totalAmount: number; description: string }) => {
    await faults.on('event');
    await expect(service.create(input, { idempotencyKey: key })).rejects.toSatisfy(isInjectedFault);
    await faults.clear();
  };
  const eventsOf = (merOrderId: string) =>
    database.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId)).orderBy(paymentEvents.id);

  it('is not closed: it is recorded UNKNOWN and the query that follows stores what UMS knows', async () => {
    const key = `resent-refused-${Date.now()}`;
    const input = { ...WECHAT, totalAmount: 777, description: 'resent-refused' };
    await failFirstAnswer(key, input);

    const retried = await service.create(input, { idempotencyKey: key });
    expect(retried.payment).toMatchObject({ status: 'WAIT_BUYER_PAY', totalAmount: 777 });
    const events = await eventsOf(retried.payment.merOrderId);
    expect(events.map((e) => e.status)).toEqual(['NEW_ORDER', 'UNKNOWN', 'WAIT_BUYER_PAY']);
    expect(events[1]).toMatchObject({ payload: { outcome: 'refused-on-resend', errCode: 'TARGET_FAIL' } });
  });

  it('stays UNKNOWN for the scheduler when UMS cannot be asked at once', async () => {
    const key = `resent-refused-noquery-${Date.now()}`;
    const input = { ...WECHAT, totalAmount: 778, description: 'resent-refused-noquery' };
    await failFirstAnswer(key, input);

    queryAnswers = false;
    try {
      const retried = await service.create(input, { idempotencyKey: key });
      expect(retried.payment).toMatchObject({ status: 'UNKNOWN' });
      const [row] = await database.db.select().from(payments).where(eq(payments.merOrderId, retried.payment.merOrderId));
      expect(row).toMatchObject({ status: 'UNKNOWN', needsReview: false });
      expect(row?.nextSyncAt).not.toBeNull();
    } finally {
      queryAnswers = true;
    }
  });
});
