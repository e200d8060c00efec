/**
 * End to end, as a frontend uses the gateway: HTTP for queries and mutations, graphql-ws for the
 * subscription, the real payment commands and the UMS simulator posting real signed
 * notifications back. On PGlite always; on real Postgres also with two gateway instances.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase, describePostgres, postgresDatabase, type TestDatabase } from '../support/db.js';
import { startFullGateway, type FullGateway } from './full-gateway.js';
import { collect, gql, sleep, wsClient } from './harness.js';

const CREATE = `mutation Create($input: CreatePaymentInput!) {
  createPayment(input: $input) { qrCode payUrl payParams payment { merOrderId status version totalAmount channel } }
}`;
const WATCH = `subscription Watch($id: ID!) {
  paymentStatusChanged(merOrderId: $id) { status previousStatus source payment { merOrderId status version buyerPayAmount } }
}`;
const SIMULATE = 'mutation Pay($id: ID!) { simulatePayment(merOrderId: $id) { merOrderId status } }';
const REFUND = `mutation Refund($input: RefundPaymentInput!) { refundPayment(input: $input) { refundOrderId merOrderId refundAmount status } }`;

interface Created {
  createPayment: { qrCode: string | null; payUrl: string | null; payParams: unknown; payment: { merOrderId: string; status: string; version: number; totalAmount: number; channel: string } };
}
interface Watched {
  paymentStatusChanged: { status: string; previousStatus: string | null; source: string; payment: { merOrderId: string; status: string; version: number } };
}

describeEachDatabase('GraphQL end to end', (kind) => {
  let h: TestDatabase;
  let gw: FullGateway;

  beforeAll(async () => {
    h = await kind.open();
    gw = await startFullGateway(h);
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('create → subscribe → simulatePayment → the subscriber sees TRADE_SUCCESS', async () => {
    const created = await gql<Created>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 1250, description: '拿铁×2' } });
    expect(created.errors).toBeUndefined();
    const { payment, qrCode } = created.data!.createPayment;
    expect(qrCode).toBeTruthy();
    expect(payment).toMatchObject({ totalAmount: 1250, channel: 'QR_CODE' });
    expect(payment.merOrderId.startsWith('3194')).toBe(true);

    const { client } = wsClient(gw.wsUrl);
    const sub = collect<Watched>(client, WATCH, { id: payment.merOrderId });
    await sub.next(1);
    expect(sub.results[0]?.data?.paymentStatusChanged.payment.merOrderId).toBe(payment.merOrderId);
    const before = sub.results.length;

    const paid = await gql<{ simulatePayment: { status: string } }>(gw.url, SIMULATE, { id: payment.merOrderId });
    expect(paid.errors).toBeUndefined();
    await sub.next(before + 1, 10_000);
    const success = sub.results.map((r) => r.data?.paymentStatusChanged).find((c) => c?.status === 'TRADE_SUCCESS');
    expect(success).toMatchObject({ status: 'TRADE_SUCCESS', payment: { merOrderId: payment.merOrderId, status: 'TRADE_SUCCESS' } });
    expect(['NOTIFY', 'SYNC']).toContain(success?.source);
    await sleep(300);
    // Each version at most once, in order.
    const versions = sub.results.map((r) => r.data?.paymentStatusChanged.payment.version ?? 0);
    expect(new Set(versions).size).toBe(versions.length);
    sub.dispose();
    await client.dispose();

    const metrics = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/graphql_operation_duration_seconds_count\{operation="Create",type="mutation",outcome="success"\} \d+/);
    expect(metrics).toMatch(/ums_call_duration_seconds_count\{service="[^"]+",errCode="SUCCESS"\} \d+/);
  });

  it('H5 and mini-program channels answer payUrl / payParams', async () => {
    const h5 = await gql<Created>(gw.url, CREATE, { input: { channel: 'H5_ALIPAY', totalAmount: 300, returnUrl: 'https://shop.example/done' } });
    expect(h5.errors).toBeUndefined();
    expect(h5.data!.createPayment.payUrl).toMatch(/^https?:\/\//);
    const mini = await gql<Created>(gw.url, CREATE, { input: { channel: 'WECHAT_MINI', totalAmount: 300, subOpenId: 'oQx9a5bC7dE1fG3hJ5kL7mN9pQr' } });
    expect(mini.errors).toBeUndefined();
    expect(mini.data!.createPayment.payParams).toBeTruthy();
  });

  it('Idempotency-Key: the same input returns the first answer; another input is an error', async () => {
    const key = { 'idempotency-key': `key-${Date.now()}` };
    const input = { channel: 'QR_CODE', totalAmount: 500 };
    const first = await gql<Created>(gw.url, CREATE, { input }, key);
    const again = await gql<Created>(gw.url, CREATE, { input }, key);
    expect(first.errors).toBeUndefined();
    expect(again.data!.createPayment.payment.merOrderId).toBe(first.data!.createPayment.payment.merOrderId);
    expect(again.data!.createPayment.qrCode).toBe(first.data!.createPayment.qrCode);
    const other = await gql(gw.url, CREATE, { input: { ...input, totalAmount: 501 } }, key);
    expect(other.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const bad = await gql(gw.url, CREATE, { input }, { 'idempotency-key': 'has spaces in it' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refundPayment generates a refundOrderId and honours Idempotency-Key', async () => {
    const created = await gql<Created>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 800 } });
    const id = created.data!.createPayment.payment.merOrderId;
    const paid = await gql<{ simulatePayment: { status: string } }>(gw.url, SIMULATE, { id });
    expect(paid.data?.simulatePayment.status).toBe('TRADE_SUCCESS');

    const key = { 'idempotency-key': `refund-${Date.now()}` };
    const first = await gql<{ refundPayment: { refundOrderId: string; status: string; refundAmount: number } }>(gw.url, REFUND, { input: { merOrderId: id, refundAmount: 300 } }, key);
    expect(first.errors).toBeUndefined();
    expect(first.data!.refundPayment.refundOrderId).toMatch(/^3194/);
    expect(['SUCCESS', 'PROCESSING', 'UNKNOWN']).toContain(first.data!.refundPayment.status);
    const again = await gql<{ refundPayment: { refundOrderId: string } }>(gw.url, REFUND, { input: { merOrderId: id, refundAmount: 300 } }, key);
    expect(again.data!.refundPayment.refundOrderId).toBe(first.data!.refundPayment.refundOrderId);
    const other = await gql(gw.url, REFUND, { input: { merOrderId: id, refundAmount: 200 } }, key);
    expect(other.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');

    const q = await gql<{ payment: { refunds: { refundOrderId: string; refundAmount: number }[] } }>(
      gw.url,
      'query($id: ID!) { payment(merOrderId: $id) { refunds { refundOrderId refundAmount } } }',
      { id },
    );
    expect(q.data!.payment.refunds).toEqual([{ refundOrderId: first.data!.refundPayment.refundOrderId, refundAmount: 300 }]);
  });

  it('a UMS timeout leaves the payment UNKNOWN, answered without an error', async () => {
    gw.sim.scenario({ kind: 'slow', delayMs: 3_000, count: 1 });
    const created = await gql<Created>(gw.url, CREATE, { input: { channel: 'WECHAT_MINI', totalAmount: 700, subOpenId: 'oQx9a5bC7dE1fG3hJ5kL7mN9pQr' } });
    expect(created.errors).toBeUndefined();
    expect(created.data!.createPayment.payment.status).toBe('UNKNOWN');
    gw.sim.clearScenarios();
  });

  it('an ambiguous refund answer stays pending, never failed', async () => {
    const created = await gql<Created>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 900 } });
    const id = created.data!.createPayment.payment.merOrderId;
    await gql(gw.url, SIMULATE, { id });
    // Without an Idempotency-Key (or a refundOrderId) a retry could refund twice: refused.
    const unkeyed = await gql(gw.url, REFUND, { input: { merOrderId: id, refundAmount: 100 } });
    expect(unkeyed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    gw.sim.scenario({ kind: 'errcode', errCode: 'ORDER_PROCESSING', apply: false, count: 1 });
    const refunded = await gql<{ refundPayment: { status: string } }>(gw.url, REFUND, { input: { merOrderId: id, refundAmount: 100 } }, { 'idempotency-key': `refund-${id}` });
    expect(refunded.errors).toBeUndefined();
    expect(['PROCESSING', 'UNKNOWN']).toContain(refunded.data!.refundPayment.status);
    gw.sim.clearScenarios();
  });

  it('answers domain errors with their codes', async () => {
    const missing = await gql(gw.url, 'mutation { syncPayment(merOrderId: "3194000000000000000") { status } }');
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const zero = await gql(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 0 } });
    expect(zero.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describePostgres('two gateway instances on one Postgres database', () => {
  let h: TestDatabase;
  let other: TestDatabase;
  let a: FullGateway;
  let b: FullGateway;

  beforeAll(async () => {
    h = await postgresDatabase();
    const { openDatabase } = await import('../../src/db/database.js');
    other = await openDatabase({ url: h.url as string });
    a = await startFullGateway(h);
    b = await startFullGateway(other, { sim: a.sim });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await other?.close();
    await h?.close();
  });

  it('a payment created and paid through A is pushed to subscribers of B (and of A), once each', async () => {
    const created = await gql<Created>(a.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 990 } });
    expect(created.errors).toBeUndefined();
    const id = created.data!.createPayment.payment.merOrderId;

    const onB = wsClient(b.wsUrl);
    const onA = wsClient(a.wsUrl);
    const subB = collect<Watched>(onB.client, WATCH, { id });
    const subA = collect<Watched>(onA.client, WATCH, { id });
    await subB.next(1);
    await subA.next(1);

    await gql(a.url, SIMULATE, { id });
    const sawSuccess = (s: typeof subB) => () => s.results.some((r) => r.data?.paymentStatusChanged.status === 'TRADE_SUCCESS');
    for (const s of [subA, subB]) {
      const deadline = Date.now() + 10_000;
      while (!sawSuccess(s)()) {
        if (Date.now() > deadline) throw new Error(`no TRADE_SUCCESS: ${JSON.stringify(s.results)}`);
        await sleep(20);
      }
    }
    await sleep(500);
    for (const s of [subA, subB]) {
      const versions = s.results.map((r) => r.data?.paymentStatusChanged.payment.version);
      expect(new Set(versions).size, JSON.stringify(s.results)).toBe(versions.length);
      expect(s.results.filter((r) => r.data?.paymentStatusChanged.status === 'TRADE_SUCCESS')).toHaveLength(1);
    }
    subA.dispose();
    subB.dispose();
    await onA.client.dispose();
    await onB.client.dispose();
  });
});
