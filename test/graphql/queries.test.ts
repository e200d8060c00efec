/**
 * Queries over HTTP with a real client: one payment, pages with cursors and filters, and nested
 * events/refunds costing a fixed number of SQL queries whatever the page size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newOrder, pay, refund } from './fixtures.js';
import { countingDatabase, gql, startGateway, type TestGateway } from './harness.js';

describe('GraphQL queries', () => {
  let h: TestDatabase;
  let gw: TestGateway;
  let counter: ReturnType<typeof countingDatabase>;
  const ids: string[] = [];

  beforeAll(async () => {
    h = await pgliteDatabase();
    counter = countingDatabase(h.db);
    gw = await startGateway({ handle: h, db: counter.db });
    for (let i = 0; i < 12; i++) {
      const id = await newOrder(h.db, { totalAmount: 100 + i, mid: i % 3 === 0 ? '898000000000001' : undefined });
      ids.push(id);
      if (i % 2 === 0) await pay(h.db, id, 100 + i, i % 3 === 0 ? '898000000000001' : undefined);
    }
    await refund(h.db, ids[2] as string, `${ids[2]}R1`, 30, 102);
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('answers one payment with its events and refunds', async () => {
    const res = await gql<{ payment: Record<string, unknown> }>(
      gw.url,
      `query GetPayment($id: ID!) { payment(merOrderId: $id) {
        merOrderId status version totalAmount refundedAmount mid tid channel targetSys payTime createdAt
        events { source status previousStatus version at }
        refunds { refundOrderId merOrderId refundAmount status createdAt }
      } }`,
      { id: ids[2] },
    );
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data?.payment).toMatchObject({
      merOrderId: ids[2],
      status: 'TRADE_REFUND',
      version: 3,
      totalAmount: 102,
      refundedAmount: 30,
      channel: 'QR_CODE',
      targetSys: 'WXPay',
      events: [
        { source: 'MUTATION', status: 'NEW_ORDER', previousStatus: null, version: 1 },
        { source: 'NOTIFY', status: 'TRADE_SUCCESS', previousStatus: 'NEW_ORDER', version: 2 },
        { source: 'NOTIFY', status: 'TRADE_REFUND', previousStatus: 'TRADE_SUCCESS', version: 3 },
      ],
      refunds: [{ refundOrderId: `${ids[2]}R1`, merOrderId: ids[2], refundAmount: 30, status: 'SUCCESS' }],
    });
    expect(typeof (res.data?.payment as { payTime: unknown }).payTime).toBe('string');
  });

  it('answers null for an unknown payment', async () => {
    const res = await gql(gw.url, '{ payment(merOrderId: "3194nothing") { merOrderId } }');
    expect(res.data).toEqual({ payment: null });
  });

  it('pages newest first with cursors, and every payment appears once', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res: Awaited<ReturnType<typeof gql<{ payments: { edges: { cursor: string; node: { merOrderId: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>>> =
        await gql(gw.url, 'query Page($after: String) { payments(first: 5, after: $after) { edges { cursor node { merOrderId } } pageInfo { hasNextPage endCursor } } }', { after });
      expect(res.errors).toBeUndefined();
      const page = res.data!.payments;
      seen.push(...page.edges.map((e) => e.node.merOrderId));
      pages += 1;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by status and by mid', async () => {
    const byStatus = await gql<{ payments: { edges: { node: { merOrderId: string; status: string } }[] } }>(
      gw.url,
      '{ payments(first: 100, status: NEW_ORDER) { edges { node { merOrderId status } } } }',
    );
    expect(byStatus.data!.payments.edges.map((e) => e.node.merOrderId).sort()).toEqual(ids.filter((_, i) => i % 2 === 1).sort());
    const byMid = await gql<{ payments: { edges: { node: { mid: string } }[] } }>(gw.url, '{ payments(first: 100, mid: "898000000000001") { edges { node { mid } } } }');
    expect(byMid.data!.payments.edges).toHaveLength(4);
    expect(new Set(byMid.data!.payments.edges.map((e) => e.node.mid))).toEqual(new Set(['898000000000001']));
  });

  it('refuses a cursor it did not hand out, and a page size out of range', async () => {
    const cursor = await gql(gw.url, '{ payments(after: "bm90LWEtY3Vyc29y") { edges { cursor } } }');
    expect(cursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const size = await gql(gw.url, '{ payments(first: 1000) { edges { cursor } } }');
    expect(size.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('loads events and refunds of a whole page in a fixed number of queries', async () => {
    const query = (first: number) =>
      gql(gw.url, `{ payments(first: ${first}) { edges { node { merOrderId events { status } refunds { refundAmount } } } } }`);
    counter.reset();
    const small = await query(2);
    const smallCount = counter.count();
    counter.reset();
    const large = await query(12);
    const largeCount = counter.count();
    expect(small.errors).toBeUndefined();
    expect(large.errors).toBeUndefined();
    expect((large.data as { payments: { edges: unknown[] } }).payments.edges).toHaveLength(12);
    // One page read, one events read, one refunds read.
    expect(smallCount).toBe(3);
    expect(largeCount).toBe(3);
  });
});
