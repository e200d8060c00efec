/**
 * Split payments (分账) against the simulator: shares validated (sums, mids) before anything is
 * stored or sent, stored, sent to UMS; refunds of split orders carry one sub-merchant's part and
 * the platform's, within what is left of each share, and UMS checks the same.
 */
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../support/db.js';
import { fullGatewayForSuite } from './full-gateway.js';
import { gql } from './harness.js';

const CREATE = `mutation Create($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId divisionFlag platformAmount subOrders } } }`;
const REFUND = 'mutation Refund($input: RefundPaymentInput!) { refundPayment(input: $input) { status refundAmount platformAmount subOrders } }';
const READ = 'query Read($id: ID!) { payment(merOrderId: $id) { status refundedAmount refunds { refundAmount platformAmount subOrders } } }';

const A = '898201600000001';
const B = '898201600000002';

describeEachDatabase('split payments', (kind) => {
  const suite = fullGatewayForSuite(kind);

  let n = 0;
  const rid = (id: string) => `${id.slice(0, 4)}R${Date.now()}${n++}`;

  it('creates with shares that add up, refunds one sub-merchant at a time within its share', async () => {
    const subOrders = [{ mid: A, totalAmount: 600 }, { mid: B, totalAmount: 300 }];
    const created = await gql<{ createPayment: { payment: { merOrderId: string; divisionFlag: boolean; platformAmount: number; subOrders: unknown } } }>(suite.gw.url, CREATE, {
      input: { channel: 'UNIONPAY_MINI', totalAmount: 1000, divisionFlag: true, platformAmount: 100, subOrders },
    });
    expect(created.errors).toBeUndefined();
    const p = created.data!.createPayment.payment;
    expect(p).toMatchObject({ divisionFlag: true, platformAmount: 100, subOrders });
    const id = p.merOrderId;
    suite.gw.sim.pay(id);
    await suite.gw.sim.waitForDelivery((d) => d.merOrderId === id && d.state === 'delivered');

    // Shares must add up to refundAmount; one sub-merchant per refund; within what is left.
    const wrongSum = await gql(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 200, refundOrderId: rid(id), platformAmount: 10, subOrders: [{ mid: A, totalAmount: 100 }] } });
    expect(wrongSum.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const two = await gql(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 200, refundOrderId: rid(id), platformAmount: 0, subOrders: [{ mid: A, totalAmount: 100 }, { mid: B, totalAmount: 100 }] } });
    expect(two.errors?.[0]?.message).toContain('one sub-merchant');
    const missing = await gql(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 200, refundOrderId: rid(id) } });
    expect(missing.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const stranger = await gql(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 50, refundOrderId: rid(id), platformAmount: 0, subOrders: [{ mid: '898201699999999', totalAmount: 50 }] } });
    expect(stranger.errors?.[0]?.message).toContain('no share');

    const first = await gql<{ refundPayment: { status: string } }>(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 550, refundOrderId: rid(id), platformAmount: 50, subOrders: [{ mid: A, totalAmount: 500 }] } });
    expect(first.errors).toBeUndefined();
    expect(first.data!.refundPayment).toMatchObject({ status: 'SUCCESS', platformAmount: 50, subOrders: [{ mid: A, totalAmount: 500 }] });
    // UMS received the shares with the refund.
    expect(suite.gw.sim.order(id)!.refundedAmount).toBe(550);
    const over = await gql(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 101, refundOrderId: rid(id), platformAmount: 0, subOrders: [{ mid: A, totalAmount: 101 }] } });
    expect(over.errors?.[0]?.message).toContain('left of its share');
    const platformOver = await gql(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 51, refundOrderId: rid(id), platformAmount: 51, subOrders: [{ mid: B, totalAmount: 0 }] } });
    expect(platformOver.errors?.[0]?.message).toContain('platform');
    const second = await gql<{ refundPayment: { status: string } }>(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 300, refundOrderId: rid(id), platformAmount: 0, subOrders: [{ mid: B, totalAmount: 300 }] } });
    expect(second.data?.refundPayment.status).toBe('SUCCESS');
    const read = await gql<{ payment: { refundedAmount: number; refunds: unknown[] } }>(suite.gw.url, READ, { id });
    expect(read.data!.payment.refundedAmount).toBe(850);
  });

  it('refuses shares that do not add up, bad mids, duplicates, and split + guarantee; nothing is sent', async () => {
    const base = { channel: 'UNIONPAY_MINI', totalAmount: 1000, divisionFlag: true };
    const bad: [Record<string, unknown>, string][] = [
      [{ ...base, platformAmount: 100, subOrders: [{ mid: A, totalAmount: 800 }] }, 'add up'],
      [{ ...base, subOrders: [{ mid: A, totalAmount: 1000 }] }, 'platformAmount'],
      [{ ...base, platformAmount: 0 }, 'subOrders'],
      [{ ...base, platformAmount: 0, subOrders: [{ mid: 'short', totalAmount: 1000 }] }, 'mid'],
      [{ ...base, platformAmount: 0, subOrders: [{ mid: A, totalAmount: 500 }, { mid: A, totalAmount: 500 }] }, 'twice'],
      [{ ...base, platformAmount: 0, subOrders: [{ mid: A, totalAmount: 1000 }], secureTransaction: true }, 'guaranteed'],
      [{ channel: 'UNIONPAY_MINI', totalAmount: 1000, platformAmount: 0, subOrders: [{ mid: A, totalAmount: 1000 }] }, 'divisionFlag'],
    ];
    for (const [input, text] of bad) {
      const before = suite.gw.sim.orders().length;
      const res = await gql(suite.gw.url, CREATE, { input });
      expect(res.errors?.[0]?.extensions?.code, text).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message, text).toContain(text);
      expect(suite.gw.sim.orders().length).toBe(before);
    }
  });
});
