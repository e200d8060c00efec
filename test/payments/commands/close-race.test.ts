/**
 * A close the gateway decides itself (UMS does not know an old order; UMS said SUCCESS to our
 * close) is based on a row read before UMS was asked. If the buyer's payment is stored meanwhile
 * (the notice arrives while UMS answers), the payment must stay TRADE_SUCCESS.
 *
 * The scripted UMS peer stores the payment notice, through the ledger, just before it answers.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { DEMO } from '../../../src/config.js';
import { payments } from '../../../src/db/schema.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { applyReport } from '../../../src/payments/ledger.js';
import { UmsClient } from '../../../src/ums/client.js';
import { UmsOperations } from '../../../src/ums/operations.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';
import { startUmsPeer, type PeerRequest, type UmsPeer } from '../../support/ums-peer.js';
import { WECHAT, silent } from '../sync/harness.js';

describeEachDatabase('a close decided locally never overrides a payment stored meanwhile', (kind) => {
  let database: TestDatabase;
  let peer: UmsPeer;
  let client: UmsClient;
  let service: PaymentService;
  /** merOrderIds whose payment notice "arrives" while UMS answers the next query or close. */
  const paysMeanwhile = new Set<string>();

  const buyerPays = async (req: PeerRequest) => {
    const merOrderId = String(req.json?.merOrderId);
    if (!paysMeanwhile.delete(merOrderId)) return;
    await applyReport(database.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 900, mid: DEMO.mid, tid: DEMO.tid }, 'NOTIFY');
  };

  beforeAll(async () => {
    database = await kind.open();
    peer = await startUmsPeer({ appId: DEMO.appId, appKey: DEMO.appKey });
    peer.on('/v1/netpay/wx/unified-order', (req) => ({
      json: { errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId, totalAmount: req.json?.totalAmount, status: 'NEW_ORDER' },
    }));
    // UMS has lost the order (or never had it): NO_ORDER, while the notice is being stored.
    peer.on('/v1/netpay/query', async (req) => {
      await buyerPays(req);
      return { json: { errCode: 'NO_ORDER', errMsg: '无法找到指定的订单' } };
    });
    peer.on('/v1/netpay/close', async (req) => {
      await buyerPays(req);
      return { json: { errCode: 'SUCCESS', mid: DEMO.mid, tid: DEMO.tid, merOrderId: req.json?.merOrderId } };
    });
    client = new UmsClient({ baseUrl: peer.baseUrl, appId: DEMO.appId, appKey: DEMO.appKey });
    const ops = new UmsOperations(client, { mid: DEMO.mid, tid: DEMO.tid, sourceId: DEMO.sourceId, notifyUrl: 'http://127.0.0.1:9/notify/ums' });
    // unknownAtUmsCloseMs 0: every order UMS does not know counts as too old to be paid.
    service = new PaymentService({ db: database.db, ums: ops, client, sourceId: DEMO.sourceId, syncAfterMs: 60_000, log: silent, unknownAtUmsCloseMs: 0 });
  });
  afterAll(async () => {
    await client?.close();
    await peer?.close();
    await database?.close();
  });

  const stored = async (merOrderId: string) => (await database.db.select().from(payments).where(eq(payments.merOrderId, merOrderId)))[0]!;

  it('query NO_ORDER on an old order, notice of payment stored meanwhile: stays TRADE_SUCCESS', async () => {
    const { payment } = await service.create({ ...WECHAT, totalAmount: 900 }, {});
    paysMeanwhile.add(payment.merOrderId);
    const after = await service.sync(payment.merOrderId);
    expect(after.status).toBe('TRADE_SUCCESS');
    expect(await stored(payment.merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS' });
  });

  it('close answered SUCCESS, notice of payment stored meanwhile: stays TRADE_SUCCESS', async () => {
    const { payment } = await service.create({ ...WECHAT, totalAmount: 900 }, {});
    paysMeanwhile.add(payment.merOrderId);
    const after = await service.closePayment(payment, 'SYNC');
    expect(after.status).toBe('TRADE_SUCCESS');
    expect(await stored(payment.merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS' });
  });

  it('without a payment meanwhile the same closes still happen', async () => {
    const a = await service.create({ ...WECHAT, totalAmount: 900 }, {});
    expect((await service.sync(a.payment.merOrderId)).status).toBe('TRADE_CLOSED');
    const b = await service.create({ ...WECHAT, totalAmount: 900 }, {});
    expect((await service.close(b.payment.merOrderId)).status).toBe('TRADE_CLOSED');
  });
});
