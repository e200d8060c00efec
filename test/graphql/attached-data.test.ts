/**
 * attachedData and srcReserve go to UMS with the order and come back in its notifications (and are
 * stored from them); metadata stays with the gateway, bounded. Against the simulator over HTTP.
 */
import { expect, it } from 'vitest';
import { DEMO } from '../../src/config.js';
import { describeEachDatabase } from '../support/db.js';
import { fullGatewayForSuite } from './full-gateway.js';
import { gql } from './harness.js';

const CREATE = `mutation Create($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId attachedData srcReserve metadata } } }`;
const READ = 'query Read($id: ID!) { payment(merOrderId: $id) { status attachedData srcReserve metadata notification needsReview } }';
const CALL = 'mutation Call($body: JSON!) { callUms(service: "netpay/uac/mini-order", body: $body) }';

interface Read {
  payment: { status: string; attachedData: string | null; srcReserve: string | null; metadata: unknown; notification: Record<string, unknown> | null; needsReview: boolean } | null;
}

describeEachDatabase('attachedData, srcReserve, metadata', (kind) => {
  const suite = fullGatewayForSuite(kind);

  it('round trip: sent to UMS, echoed in the notification; metadata kept here only', async () => {
    const metadata = { orderRef: 'A-1001', items: 3, gift: true, note: null };
    const created = await gql<{ createPayment: { payment: { merOrderId: string; attachedData: string; srcReserve: string; metadata: unknown } } }>(suite.gw.url, CREATE, {
      input: { channel: 'UNIONPAY_MINI', totalAmount: 420, attachedData: 'cart:42', srcReserve: 'pos-7', metadata },
    });
    expect(created.errors).toBeUndefined();
    const { merOrderId, ...fields } = created.data!.createPayment.payment;
    expect(fields).toEqual({ attachedData: 'cart:42', srcReserve: 'pos-7', metadata });
    // UMS got attachedData and srcReserve, never the metadata.
    const sent = suite.gw.sim.order(merOrderId)!;
    expect(sent.totalAmount).toBe(420);
    suite.gw.sim.pay(merOrderId);
    const delivery = await suite.gw.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.state === 'delivered');
    expect(delivery.fields).toMatchObject({ attachedData: 'cart:42', srcReserve: 'pos-7' });
    expect(JSON.stringify(delivery.fields)).not.toContain('A-1001');
    const read = await gql<Read>(suite.gw.url, READ, { id: merOrderId });
    expect(read.data!.payment).toMatchObject({ status: 'TRADE_SUCCESS', attachedData: 'cart:42', srcReserve: 'pos-7', metadata });
    expect(read.data!.payment!.notification).toMatchObject({ attachedData: 'cart:42', srcReserve: 'pos-7' });
  });

  it('stores attachedData and srcReserve from a notification about an order made elsewhere', async () => {
    const merOrderId = `${DEMO.sourceId}${Date.now()}AD`;
    const made = await gql<{ callUms: Record<string, unknown> }>(suite.gw.url, CALL, {
      body: { mid: DEMO.mid, tid: DEMO.tid, instMid: 'MINIDEFAULT', merOrderId, totalAmount: 90, attachedData: 'portal', srcReserve: 'r1', notifyUrl: suite.gw.url.replace('/graphql', '/notify/ums') },
    });
    expect(made.data!.callUms).toMatchObject({ errCode: 'SUCCESS' });
    suite.gw.sim.pay(merOrderId);
    await suite.gw.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.state === 'delivered');
    const read = await gql<Read>(suite.gw.url, READ, { id: merOrderId });
    expect(read.data!.payment).toMatchObject({ attachedData: 'portal', srcReserve: 'r1', metadata: null });
  });

  it('refuses unsafe attachedData and unbounded metadata, naming the field; nothing is stored or sent', async () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ attachedData: 'a=1&status=TRADE_SUCCESS' }, 'attachedData'],
      [{ attachedData: 'x'.repeat(256) }, 'attachedData'],
      [{ srcReserve: 'k=v' }, 'srcReserve'],
      [{ metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }, 'metadata'],
      [{ metadata: { nested: { deep: 1 } } }, 'metadata'],
      [{ metadata: ['not', 'an', 'object'] }, 'metadata'],
      [{ metadata: { long: 'x'.repeat(501) } }, 'metadata'],
      [{ metadata: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, 'y'.repeat(400)])) }, 'metadata'],
      [{ metadata: { ['k'.repeat(41)]: 1 } }, 'metadata'],
    ];
    for (const [extra, field] of bad) {
      const before = suite.gw.sim.orders().length;
      const res = await gql(suite.gw.url, CREATE, { input: { channel: 'UNIONPAY_MINI', totalAmount: 100, ...extra } });
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(extra).slice(0, 60)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toContain(field);
      expect(suite.gw.sim.orders().length).toBe(before);
    }
  });
});
