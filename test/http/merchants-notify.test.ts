/**
 * Two merchants against the real simulator over HTTP (CONTRACT.md "Merchants"): a payment of
 * merchant B is created with B's profile, paid at the simulator, and its notification, signed with
 * B's key, arrives at /notify/ums/b and is applied; /notify/ums routes by mid/tid; a notification
 * signed with the default merchant's key for B's order is rejected wherever it is posted; sync and
 * refund of B's payment go out with B's credentials (the simulator refuses the default's for B).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.js';
import { DEMO } from '../../src/config.js';
import { UmsClient } from '../../src/ums/client.js';
import { UmsBusinessError } from '../../src/ums/errors.js';
import { UmsOperations } from '../../src/ums/operations.js';
import { notifySign } from '../../src/ums/sign.js';
import { beijingDate } from '../../src/ums/time.js';
import { gql, until } from '../app/support.js';
import {
  CREATE_MERCHANT,
  CREATE_PAYMENT,
  MERCHANT_B,
  PAYMENT,
  startMerchantGateway,
  type CreatedPayment,
  type MerchantGateway,
  type PaymentAnswer,
  UPDATE_MERCHANT,
} from '../merchants/support.js';
import { describeEachDatabase } from '../support/db.js';

function rowsOf(result: unknown): Record<string, unknown>[] {
  return (Array.isArray(result) ? result : (result as { rows: Record<string, unknown>[] }).rows) as Record<string, unknown>[];
}

describeEachDatabase('two merchants, notifications routed and verified per merchant', (kind) => {
  let m: MerchantGateway;
  let gw: Gateway;
  /** B's first payment, paid through the simulator (its delivery is the template for forged copies). */
  let paidB: string;

  beforeAll(async () => {
    m = await startMerchantGateway(kind);
    gw = m.gw;
    const created = await gql(gw.url, CREATE_MERCHANT, { input: MERCHANT_B });
    expect(created.errors).toBeUndefined();
  });
  afterAll(() => m?.close());

  const createFor = async (merchantId: string | undefined, totalAmount = 1000) => {
    const answer = await gql<CreatedPayment>(gw.url, CREATE_PAYMENT, { input: { channel: 'QR_CODE', totalAmount, ...(merchantId ? { merchantId } : {}) } });
    expect(answer.errors).toBeUndefined();
    return answer.data!.createPayment.payment;
  };
  const read = async (merOrderId: string) => (await gql<PaymentAnswer>(gw.url, PAYMENT, { id: merOrderId })).data!.payment!;
  const post = async (path: string, fields: Record<string, string>) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    return [res.status, await res.text()] as const;
  };
  /** B's paid notification, moved to `merOrderId`, with `changes`, signed with `key`. */
  const forged = (merOrderId: string, key: string, changes: Record<string, string> = {}) => {
    const template = gw.simulator!.deliveries.find((d) => d.merOrderId === paidB && d.status === 'PAID')!;
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(template.fields)) {
      if (name !== 'sign') fields[name] = value.split(paidB).join(merOrderId);
    }
    Object.assign(fields, { notifyId: randomUUID() }, changes);
    return { ...fields, sign: notifySign(fields, key, 'SHA256') };
  };
  const notificationRows = async (merOrderId: string) =>
    rowsOf(await gw.database.db.execute(sql`select merchant_id, outcome, reason from notifications where mer_order_id = ${merOrderId} order by id`));

  it('creates B’s payment with B’s profile; paid at the simulator, it is notified at /notify/ums/b and applied', async () => {
    const payment = await createFor('b', 1250);
    expect(payment).toMatchObject({ merchantId: 'b', mid: MERCHANT_B.mid, tid: MERCHANT_B.tid, status: 'NEW_ORDER' });
    expect(payment.merOrderId.startsWith(MERCHANT_B.sourceId)).toBe(true);
    paidB = payment.merOrderId;
    expect(gw.simulator!.order(paidB)?.notifyUrl).toBe(`${gw.url}/notify/ums/b`);

    const res = await fetch(`${gw.simulator!.url}/_sim/orders/${paidB}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    const delivery = await gw.simulator!.waitForDelivery((d) => d.merOrderId === paidB && d.status === 'PAID');
    expect(delivery.url).toBe(`${gw.url}/notify/ums/b`);
    expect(delivery.attempts.at(-1)).toMatchObject({ httpStatus: 200, answer: 'SUCCESS' });
    const after = await read(paidB);
    expect(after.status).toBe('TRADE_SUCCESS');
    expect(after.events.map((e) => e.source)).toContain('NOTIFY');
    expect(await notificationRows(paidB)).toEqual([expect.objectContaining({ merchant_id: 'b', outcome: 'applied' })]);
  });

  it('routes a notification posted to /notify/ums by its mid/tid to B, and applies it', async () => {
    const { merOrderId } = await createFor('b', 1250);
    expect(await post('/notify/ums', forged(merOrderId, MERCHANT_B.notifyKey))).toEqual([200, 'SUCCESS']);
    expect((await read(merOrderId)).status).toBe('TRADE_SUCCESS');
    expect(await notificationRows(merOrderId)).toEqual([expect.objectContaining({ merchant_id: 'b', outcome: 'applied' })]);
  });

  it('rejects a notification for B’s order signed with the default merchant’s key, wherever it is posted', async () => {
    const { merOrderId } = await createFor('b', 1250);
    const before = await read(merOrderId);
    // On the default merchant's path, or routed to it by its mid/tid: verified, but not its payment.
    expect(await post('/notify/ums/default', forged(merOrderId, DEMO.notifyKey))).toEqual([400, 'FAILED']);
    expect(await post('/notify/ums', forged(merOrderId, DEMO.notifyKey, { mid: DEMO.mid, tid: DEMO.tid }))).toEqual([400, 'FAILED']);
    // Routed to B by B's mid/tid, or posted on B's path: the default key is not B's.
    expect(await post('/notify/ums', forged(merOrderId, DEMO.notifyKey))).toEqual([400, 'FAILED']);
    expect(await post('/notify/ums/b', forged(merOrderId, DEMO.notifyKey))).toEqual([400, 'FAILED']);
    // B's key on the default merchant's path, and a merchant nobody knows.
    expect(await post('/notify/ums/default', forged(merOrderId, MERCHANT_B.notifyKey))).toEqual([400, 'FAILED']);
    expect(await post('/notify/ums/nobody', forged(merOrderId, MERCHANT_B.notifyKey))).toEqual([400, 'FAILED']);

    const after = await read(merOrderId);
    expect(after.status).toBe(before.status);
    expect(after.version).toBe(before.version);
    const stored = await notificationRows(merOrderId);
    expect(stored.every((r) => r.outcome === 'rejected')).toBe(true);
    expect(stored.filter((r) => r.reason === 'merchant-mismatch').map((r) => r.merchant_id)).toEqual(['default', 'default']);
  });

  it('syncs and refunds B’s payment with B’s credentials, which the simulator insists on', async () => {
    // The default merchant's credentials cannot act for B's mid at UMS.
    const foreign = new UmsClient({ baseUrl: gw.simulator!.url, appId: DEMO.appId, appKey: DEMO.appKey });
    try {
      const ops = new UmsOperations(foreign, { mid: MERCHANT_B.mid, tid: MERCHANT_B.tid });
      const refused = await ops.billsQuery({ billNo: paidB, billDate: beijingDate(new Date()) }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(UmsBusinessError);
      expect((refused as UmsBusinessError).errCode).toBe('NO_MERCHANT');
    } finally {
      await foreign.close();
    }

    const synced = await gql<{ syncPayment: { status: string; merchantId: string } }>(gw.url, 'mutation($id: ID!) { syncPayment(merOrderId: $id) { status merchantId } }', { id: paidB });
    expect(synced.errors).toBeUndefined();
    expect(synced.data!.syncPayment).toEqual({ status: 'TRADE_SUCCESS', merchantId: 'b' });

    const REFUND = 'mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { refundOrderId status refundAmount } }';
    // B's refund numbers start with B's source number, not the default one.
    const wrongPrefix = await gql(gw.url, REFUND, { input: { merOrderId: paidB, refundAmount: 100, refundOrderId: `${DEMO.sourceId}R${Date.now()}` } });
    expect(wrongPrefix.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const refunded = await gql<{ refundPayment: { status: string } }>(gw.url, REFUND, {
      input: { merOrderId: paidB, refundAmount: 250, refundOrderId: `${MERCHANT_B.sourceId}R${Date.now()}` },
    });
    expect(refunded.errors).toBeUndefined();
    expect(refunded.data!.refundPayment.status).toBe('SUCCESS');
    await until('the refund counted', async () => ((await read(paidB)).refundedAmount === 250 ? true : undefined));
    expect(gw.simulator!.order(paidB)?.refundedAmount).toBe(250);
  });

  it('filters payments by merchant; payments created without one stay `default`', async () => {
    const own = await createFor(undefined);
    expect(own.merchantId).toBe('default');
    expect(own.merOrderId.startsWith(DEMO.sourceId)).toBe(true);
    const LIST = 'query($m: ID) { payments(first: 100, merchantId: $m) { edges { node { merOrderId merchantId } } } }';
    type List = { payments: { edges: { node: { merOrderId: string; merchantId: string } }[] } };
    const ofB = (await gql<List>(gw.url, LIST, { m: 'b' })).data!.payments.edges.map((e) => e.node);
    expect(ofB.length).toBeGreaterThanOrEqual(3);
    expect(ofB.every((p) => p.merchantId === 'b')).toBe(true);
    const ofDefault = (await gql<List>(gw.url, LIST, { m: 'default' })).data!.payments.edges.map((e) => e.node);
    expect(ofDefault.map((p) => p.merOrderId)).toEqual([own.merOrderId]);
  });

  it('a merchant in token mode works at the simulator with no other step', async () => {
    const c = { ...MERCHANT_B, id: 'c', mid: '898310060514003', sourceId: '5C5C', appId: 'app-of-merchant-c', appKey: 'appkey-of-merchant-c-000', notifyKey: 'notifykey-c-000', authMode: 'token' };
    expect((await gql(gw.url, CREATE_MERCHANT, { input: c })).errors).toBeUndefined();
    const payment = await createFor('c');
    expect(payment).toMatchObject({ merchantId: 'c', status: 'NEW_ORDER' });
    const res = await fetch(`${gw.simulator!.url}/_sim/orders/${payment.merOrderId}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    await until('paid', async () => ((await read(payment.merOrderId)).status === 'TRADE_SUCCESS' ? true : undefined));
    const delivery = await gw.simulator!.waitForDelivery((d) => d.merOrderId === payment.merOrderId);
    expect(delivery.url).toBe(`${gw.url}/notify/ums/c`);
  });

  it('signs B’s H5 pay URL with B’s app, which the simulator takes as B’s order', async () => {
    const answer = await gql<{ createPayment: { payUrl: string | null; payment: { merOrderId: string } } }>(
      gw.url,
      'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { payUrl payment { merOrderId } } }',
      { input: { channel: 'H5_UNIONPAY', totalAmount: 300, merchantId: 'b' } },
    );
    expect(answer.errors).toBeUndefined();
    const { payUrl, payment } = answer.data!.createPayment;
    expect(payUrl).toContain(encodeURIComponent(MERCHANT_B.appId));
    const opened = await fetch(payUrl!, { redirect: 'manual' });
    expect(opened.status).toBe(302);
    expect(gw.simulator!.order(payment.merOrderId)).toMatchObject({ mid: MERCHANT_B.mid, tid: MERCHANT_B.tid, notifyUrl: `${gw.url}/notify/ums/b` });
  });

  it('still stores and applies the notifications of a disabled merchant', async () => {
    const { merOrderId } = await createFor('b', 1250);
    const disabled = await gql(gw.url, UPDATE_MERCHANT, { id: 'b', input: { ...MERCHANT_B, enabled: false } });
    expect(disabled.errors).toBeUndefined();
    expect(await post('/notify/ums/b', forged(merOrderId, MERCHANT_B.notifyKey))).toEqual([200, 'SUCCESS']);
    expect((await read(merOrderId)).status).toBe('TRADE_SUCCESS');
    const refused = await gql(gw.url, CREATE_PAYMENT, { input: { channel: 'QR_CODE', totalAmount: 100, merchantId: 'b' } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describeEachDatabase('the sync scheduler acts for each payment’s merchant', (kind) => {
  let m: MerchantGateway;
  beforeAll(async () => {
    m = await startMerchantGateway(kind, { PAYMENT_SYNC_AFTER_MS: '200', PAYMENT_SYNC_INTERVAL_MS: '100' }, undefined, { scheduler: true });
    expect((await gql(m.gw.url, CREATE_MERCHANT, { input: MERCHANT_B })).errors).toBeUndefined();
  });
  afterAll(() => m?.close());

  it('settles B’s payment whose notification was lost by asking UMS with B’s credentials', async () => {
    const gw = m.gw;
    const created = await gql<CreatedPayment>(gw.url, CREATE_PAYMENT, { input: { channel: 'QR_CODE', totalAmount: 900, merchantId: 'b' } });
    const { merOrderId } = created.data!.createPayment.payment;
    const res = await fetch(`${gw.simulator!.url}/_sim/orders/${merOrderId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ notify: false }),
    });
    expect(res.status).toBe(200);
    const settled = await until('settled by the scheduler', async () => {
      const payment = (await gql<PaymentAnswer>(gw.url, PAYMENT, { id: merOrderId })).data!.payment!;
      return payment.status === 'TRADE_SUCCESS' ? payment : undefined;
    });
    expect(settled.events.at(-1)).toMatchObject({ source: 'SYNC', status: 'TRADE_SUCCESS' });
    expect(gw.simulator!.deliveries.some((d) => d.merOrderId === merOrderId)).toBe(false);
  });
});
