/**
 * `Payment.notification` (admin: every field of the last applied notification, typed, buyer
 * identifiers masked) and `paidAmount` / `refundableAmount`, against the real simulator posting
 * real signed notifications to the gateway.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { startFullGateway, type FullGateway } from './full-gateway.js';
import { bearer, gql } from './harness.js';

const KEYS = 'k_read:read,k_web:read+pay+refund,k_admin:admin';
const CREATE = `mutation Create($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId paidAmount refundableAmount } } }`;
const READ = `query Read($id: ID!) { payment(merOrderId: $id) { status paidAmount refundableAmount refundedAmount notification } }`;
const MONEY = `query Money($id: ID!) { payment(merOrderId: $id) { status paidAmount refundableAmount } }`;
const REFUND = `mutation Refund($input: RefundPaymentInput!) { refundPayment(input: $input) { status } }`;

interface Read {
  payment: { status: string; paidAmount: number; refundableAmount: number; refundedAmount: number; notification: Record<string, unknown> | null };
}

describeEachDatabase('Payment.notification, paidAmount, refundableAmount', (kind) => {
  let h: TestDatabase;
  let gw: FullGateway;

  beforeAll(async () => {
    h = await kind.open();
    gw = await startFullGateway(h, { apiKeys: KEYS });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('shows the last applied notification typed, buyer masked, to admins only; says plainly what was paid', async () => {
    const created = await gql<{ createPayment: { payment: { merOrderId: string; paidAmount: number; refundableAmount: number } } }>(
      gw.url,
      CREATE,
      { input: { channel: 'WECHAT_MINI', totalAmount: 1250, subOpenId: 'oQx9a5bC7dE1fG3hJ5kL7mN9pQr' } },
      { ...bearer('k_web'), 'idempotency-key': `pn-${Date.now()}` },
    );
    expect(created.errors).toBeUndefined();
    const { merOrderId, paidAmount, refundableAmount } = created.data!.createPayment.payment;
    expect({ paidAmount, refundableAmount }).toEqual({ paidAmount: 0, refundableAmount: 0 });

    const before = await gql<Read>(gw.url, READ, { id: merOrderId }, bearer('k_admin'));
    expect(before.data?.payment.notification).toBeNull();

    gw.sim.pay(merOrderId, { discount: 200 });
    await gw.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.state === 'delivered');

    const read = await gql<Read>(gw.url, READ, { id: merOrderId }, bearer('k_admin'));
    expect(read.errors).toBeUndefined();
    const p = read.data!.payment;
    expect(p).toMatchObject({ status: 'TRADE_SUCCESS', paidAmount: 1250, refundableAmount: 1250 });
    const n = p.notification!;
    // Amounts are numbers in fen, times ISO 8601 in Beijing time, text verbatim.
    expect(n).toMatchObject({ merOrderId, status: 'TRADE_SUCCESS', totalAmount: 1250, buyerPayAmount: 1050, couponAmount: 200, yxlmAmount: 200, msgSrc: 'WWW.TEST.COM', targetSys: 'WXPay' });
    expect(n.payTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    expect(n.responseTimestamp).toMatch(/\+08:00$/);
    expect(n.billFunds).toBe('零钱:1050|优惠券:200');
    // Buyer identifiers masked; never the signature.
    expect(String(n.buyerId)).toMatch(/^\*\*\*/);
    expect(String(n.subBuyerId)).toMatch(/^\*\*\*/);
    expect(n).not.toHaveProperty('sign');

    const asReader = await gql<Read>(gw.url, READ, { id: merOrderId }, bearer('k_read'));
    expect(asReader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const money = await gql<Read>(gw.url, MONEY, { id: merOrderId }, bearer('k_read'));
    expect(money.data?.payment).toMatchObject({ paidAmount: 1250, refundableAmount: 1250 });

    // A partial refund: still paid, less refundable. Its TRADE_REFUND notification is held back a
    // moment, so that the refund's answer moves the payment first (otherwise the two race, and
    // whichever lands first applies the refund).
    gw.sim.scenario({ kind: 'delay', delayMs: 2_000, merOrderId });
    const refund = await gql(gw.url, REFUND, { input: { merOrderId, refundAmount: 250 } }, { ...bearer('k_web'), 'idempotency-key': `pnr-${merOrderId}` });
    expect(refund.errors).toBeUndefined();
    await gw.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.status === 'TRADE_REFUND' && d.state === 'delivered');
    const after = await gql<Read>(gw.url, READ, { id: merOrderId }, bearer('k_admin'));
    expect(after.data!.payment).toMatchObject({ status: 'TRADE_REFUND', paidAmount: 1250, refundedAmount: 250, refundableAmount: 1000 });
    // The refund's answer already moved the payment, so its notification changed nothing: the last
    // *applied* notification is still the payment's.
    expect(after.data!.payment.notification).toMatchObject({ status: 'TRADE_SUCCESS', totalAmount: 1250 });
  });
});
