/** The simulator enforces UMS's rules for guaranteed (担保) and split (分账) orders on its own. */
import { afterEach, describe, expect, it } from 'vitest';
import { startFixture, type Fixture } from './support/fixture.js';
import { call, orderId } from './support/raw.js';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const A = '898201600000001';

describe('split orders at the simulator', () => {
  it('checks the shares at creation and at refund, and carries them in the refund', async () => {
    fx = await startFixture();
    const base = { instMid: 'MINIDEFAULT', totalAmount: 500, divisionFlag: true };
    expect((await call(fx.sim.url, '/v1/netpay/uac/mini-order', { ...base, merOrderId: orderId(), platformAmount: 100, subOrders: [{ mid: A, totalAmount: 300 }] })).json.errCode).toBe('BAD_REQUEST');
    expect((await call(fx.sim.url, '/v1/netpay/uac/mini-order', { ...base, merOrderId: orderId(), platformAmount: 0, subOrders: [{ mid: A, totalAmount: 500 }], secureTransaction: true })).json.errCode).toBe('BAD_REQUEST');
    const merOrderId = orderId();
    expect((await call(fx.sim.url, '/v1/netpay/uac/mini-order', { ...base, merOrderId, platformAmount: 100, subOrders: [{ mid: A, totalAmount: 400 }] })).json.errCode).toBe('SUCCESS');
    fx.sim.pay(merOrderId, { notify: false });
    const refund = (extra: Record<string, unknown>) => call(fx!.sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId: orderId(), ...extra });
    expect((await refund({ refundAmount: 100 })).json.errCode).toBe('BAD_REQUEST');
    expect((await refund({ refundAmount: 100, platformAmount: 0, subOrders: [{ mid: A, totalAmount: 90 }] })).json.errCode).toBe('BAD_REQUEST');
    expect((await refund({ refundAmount: 150, platformAmount: 150, subOrders: [{ mid: A, totalAmount: 0 }] })).json.errCode).toBe('OPERATION_NOT_ALLOWED');
    expect((await refund({ refundAmount: 150, platformAmount: 50, subOrders: [{ mid: A, totalAmount: 100 }] })).json).toMatchObject({ errCode: 'SUCCESS', refundStatus: 'SUCCESS' });
    expect(fx.sim.order(merOrderId)!.refundedAmount).toBe(150);
  });
});

describe('guaranteed orders at the simulator', () => {
  it('refuses refunds until completion, completes once, then refunds up to the completed amount', async () => {
    fx = await startFixture();
    const merOrderId = orderId();
    expect((await call(fx.sim.url, '/v1/netpay/uac/mini-order', { instMid: 'MINIDEFAULT', merOrderId, totalAmount: 1000, secureTransaction: 'true', notifyUrl: fx.receiver.url })).json.errCode).toBe('SUCCESS');
    const complete = (completedAmount: number) => call(fx!.sim.url, '/v1/netpay/secure-complete', { instMid: 'MINIDEFAULT', merOrderId, completedAmount });
    expect((await complete(500)).json.errCode).toBe('OPERATION_NOT_ALLOWED'); // not paid yet
    fx.sim.pay(merOrderId);
    const [paid] = await fx.receiver.waitFor(1);
    expect(paid!.fields.secureStatus).toBe('UNCOMPLETED');
    const refund = (refundAmount: number) => call(fx!.sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId: orderId(), refundAmount });
    expect((await refund(100)).json.errCode).toBe('OPERATION_NOT_ALLOWED');
    expect((await complete(600)).json).toMatchObject({ errCode: 'SUCCESS', secureStatus: 'PARTLY_COMPLETED', completeAmount: 600 });
    expect((await complete(600)).json).toMatchObject({ errCode: 'SUCCESS', secureStatus: 'PARTLY_COMPLETED' });
    expect((await complete(700)).json.errCode).toBe('OPERATION_NOT_ALLOWED');
    const [, completed] = await fx.receiver.waitFor(2);
    expect(completed!.fields).toMatchObject({ secureStatus: 'PARTLY_COMPLETED', completeAmount: '600' });
    expect((await refund(601)).json.errCode).toBe('OPERATION_NOT_ALLOWED');
    expect((await refund(600)).json.errCode).toBe('SUCCESS');
    expect((await call(fx.sim.url, '/v1/netpay/secure-cancel', { instMid: 'MINIDEFAULT', merOrderId })).json.errCode).toBe('OPERATION_NOT_ALLOWED');
  });
});
