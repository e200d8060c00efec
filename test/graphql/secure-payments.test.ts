/**
 * Guaranteed payments (担保) end to end against the simulator, which holds the money and enforces
 * the rules: no refund before completion, complete whole or part (idempotent), cancel (idempotent,
 * closes the payment), and refunds of a completed payment reach only the completed amount.
 */
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../support/db.js';
import { fullGatewayForSuite } from './full-gateway.js';
import { bearer, gql } from './harness.js';
import { call } from '../sim/support/raw.js';

const KEYS = 'k_pay:read+pay+refund,k_read:read';
const FIELDS = 'merOrderId status secureTransaction secureStatus completedAmount paidAmount refundableAmount refundedAmount';
const CREATE = `mutation Create($input: CreatePaymentInput!) { createPayment(input: $input) { payment { ${FIELDS} } } }`;
const COMPLETE = `mutation Complete($id: ID!, $amount: Int) { completeSecurePayment(merOrderId: $id, amount: $amount) { ${FIELDS} } }`;
const CANCEL = `mutation Cancel($id: ID!) { cancelSecurePayment(merOrderId: $id) { ${FIELDS} } }`;
const REFUND = 'mutation Refund($input: RefundPaymentInput!) { refundPayment(input: $input) { status refundAmount } }';

interface P {
  merOrderId: string;
  status: string;
  secureTransaction: boolean;
  secureStatus: string | null;
  completedAmount: number | null;
  paidAmount: number;
  refundableAmount: number;
  refundedAmount: number;
}

describeEachDatabase('guaranteed payments', (kind) => {
  const suite = fullGatewayForSuite(kind, { apiKeys: KEYS });

  const pay = bearer('k_pay');

  async function paidSecurePayment(totalAmount: number): Promise<string> {
    const created = await gql<{ createPayment: { payment: P } }>(suite.gw.url, CREATE, { input: { channel: 'UNIONPAY_MINI', totalAmount, secureTransaction: true } }, { ...pay, 'idempotency-key': `sec-${Date.now()}-${Math.random()}` });
    expect(created.errors).toBeUndefined();
    const { merOrderId, secureTransaction } = created.data!.createPayment.payment;
    expect(secureTransaction).toBe(true);
    suite.gw.sim.pay(merOrderId);
    await suite.gw.sim.waitForDelivery((d) => d.merOrderId === merOrderId && d.state === 'delivered');
    return merOrderId;
  }

  it('holds the money: no refund before completion; partial completion is idempotent and caps refunds', async () => {
    const id = await paidSecurePayment(1000);
    const refundEarly = await gql(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 100, refundOrderId: `${id.slice(0, 4)}R${Date.now()}` } }, pay);
    expect(refundEarly.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const done = await gql<{ completeSecurePayment: P }>(suite.gw.url, COMPLETE, { id, amount: 700 }, pay);
    expect(done.errors).toBeUndefined();
    expect(done.data!.completeSecurePayment).toMatchObject({ status: 'TRADE_SUCCESS', secureStatus: 'PARTLY_COMPLETED', completedAmount: 700, paidAmount: 700, refundableAmount: 700 });
    expect(suite.gw.sim.order(id)).toBeDefined();
    // The same again: the same answer, no second call's effect; another amount: CONFLICT.
    const again = await gql<{ completeSecurePayment: P }>(suite.gw.url, COMPLETE, { id, amount: 700 }, pay);
    expect(again.data!.completeSecurePayment).toMatchObject({ secureStatus: 'PARTLY_COMPLETED', completedAmount: 700 });
    const other = await gql(suite.gw.url, COMPLETE, { id, amount: 800 }, pay);
    expect(other.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    // Refunds now reach the completed 700, not the 1000 paid in.
    const tooMuch = await gql(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 701, refundOrderId: `${id.slice(0, 4)}R${Date.now()}a` } }, pay);
    expect(tooMuch.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const refund = await gql<{ refundPayment: { status: string } }>(suite.gw.url, REFUND, { input: { merOrderId: id, refundAmount: 700, refundOrderId: `${id.slice(0, 4)}R${Date.now()}b` } }, pay);
    expect(refund.data?.refundPayment.status).toBe('SUCCESS');
  });

  it('completes the whole amount by default', async () => {
    const id = await paidSecurePayment(500);
    const done = await gql<{ completeSecurePayment: P }>(suite.gw.url, COMPLETE, { id }, pay);
    expect(done.data!.completeSecurePayment).toMatchObject({ secureStatus: 'ALL_COMPLETED', completedAmount: 500, paidAmount: 500 });
  });

  it('cancel gives everything back and closes the payment; cancelling again answers the same', async () => {
    const id = await paidSecurePayment(300);
    const cancelled = await gql<{ cancelSecurePayment: P }>(suite.gw.url, CANCEL, { id }, pay);
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelSecurePayment).toMatchObject({ status: 'TRADE_CLOSED', secureStatus: 'CANCELED', paidAmount: 0, refundableAmount: 0 });
    expect(suite.gw.sim.order(id)?.status).toBe('TRADE_CLOSED');
    const again = await gql<{ cancelSecurePayment: P }>(suite.gw.url, CANCEL, { id }, pay);
    expect(again.data!.cancelSecurePayment).toMatchObject({ status: 'TRADE_CLOSED', secureStatus: 'CANCELED' });
    const complete = await gql(suite.gw.url, COMPLETE, { id }, pay);
    expect(complete.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('a cancel whose first answer was lost ends the same (UMS answers HAS_CANCELLED to the retry)', async () => {
    const id = await paidSecurePayment(200);
    // An earlier attempt reached UMS, its answer never came back.
    const first = await call(suite.gw.sim.url, '/v1/netpay/secure-cancel', { instMid: 'MINIDEFAULT', merOrderId: id });
    expect(first.json).toMatchObject({ errCode: 'SUCCESS', secureStatus: 'CANCELED' });
    expect((await call(suite.gw.sim.url, '/v1/netpay/secure-cancel', { instMid: 'MINIDEFAULT', merOrderId: id })).json.errCode).toBe('HAS_CANCELLED');
    const retried = await gql<{ cancelSecurePayment: P }>(suite.gw.url, CANCEL, { id }, pay);
    expect(retried.errors).toBeUndefined();
    expect(retried.data!.cancelSecurePayment).toMatchObject({ status: 'TRADE_CLOSED', secureStatus: 'CANCELED' });
  });

  it('needs PAY, refuses a payment that is not guaranteed, and QR_CODE guarantees', async () => {
    const denied = await gql(suite.gw.url, CANCEL, { id: 'x' }, bearer('k_read'));
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const plain = await gql<{ createPayment: { payment: P } }>(suite.gw.url, CREATE, { input: { channel: 'UNIONPAY_MINI', totalAmount: 100 } }, { ...pay, 'idempotency-key': `plain-${Date.now()}` });
    const notSecure = await gql(suite.gw.url, COMPLETE, { id: plain.data!.createPayment.payment.merOrderId }, pay);
    expect(notSecure.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const qr = await gql(suite.gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 100, secureTransaction: true } }, { ...pay, 'idempotency-key': `qr-${Date.now()}` });
    expect(qr.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
