/**
 * The event feed over GraphQL on a whole gateway: `paymentEvents` pages oldest first without gap
 * or repeat, and `paymentStatusChanged(after:)` replays what came after a cursor then goes live,
 * with changes landing right at the seam: no gap, no duplicate, each cursor a place to resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import type { Gateway } from '../../src/app.js';
import { paymentEvents } from '../../src/db/schema.js';
import { gql, subscribe, until } from '../app/support.js';
import { createPayment, pay, webhookGateway } from '../webhooks/gateway.js';

const FEED = `query($first: Int, $after: String) {
  paymentEvents(first: $first, after: $after) {
    edges { cursor node { id merOrderId merchantId actor version status previousStatus source } }
    pageInfo { hasNextPage endCursor }
  }
}`;
type Feed = { paymentEvents: { edges: { cursor: string; node: { id: string; merOrderId: string; version: number; actor: string | null; merchantId: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
const CHANGES = `subscription($id: ID, $after: String) { paymentStatusChanged(merOrderId: $id, after: $after) { version status cursor payment { merOrderId } } }`;
type Change = { paymentStatusChanged: { version: number; status: string; cursor: string } };
const REFUND = 'mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { status } }';

describe('the event feed over GraphQL (PGlite)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await webhookGateway();
  });
  afterAll(() => gw?.close());

  async function paid(): Promise<string> {
    const merOrderId = await createPayment(gw, 5000);
    await pay(gw, merOrderId);
    await until('paid', async () => {
      const r = await gql<{ payment: { status: string } }>(gw.url, 'query($id: ID!) { payment(merOrderId: $id) { status } }', { id: merOrderId });
      return r.data?.payment.status === 'TRADE_SUCCESS' ? true : undefined;
    });
    return merOrderId;
  }

  it('paymentEvents pages through every event once, oldest first, with actor and merchant', async () => {
    await paid();
    await paid();
    const rows = await gw.database.db.select().from(paymentEvents).orderBy(asc(paymentEvents.id));
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page += 1) {
      const answer: Awaited<ReturnType<typeof gql<Feed>>> = await gql<Feed>(gw.url, FEED, { first: 2, after });
      expect(answer.errors).toBeUndefined();
      const { edges, pageInfo } = answer.data!.paymentEvents;
      seen.push(...edges.map((e) => e.node.id));
      after = pageInfo.endCursor;
      if (!pageInfo.hasNextPage) break;
    }
    expect(seen).toEqual(rows.map((r) => String(r.id)));
    const first = (await gql<Feed>(gw.url, FEED, { first: 1 })).data!.paymentEvents.edges[0]!.node;
    expect(first).toMatchObject({ merchantId: 'default', version: 1, actor: expect.any(String) });
    const bad = await gql(gw.url, FEED, { after: 'nonsense' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const tooMany = await gql(gw.url, FEED, { first: 100000 });
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('paymentStatusChanged(after:) replays, then goes live across the seam with no gap and no duplicate', async () => {
    const merOrderId = await paid();
    const events = await gw.database.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId)).orderBy(asc(paymentEvents.id));
    const feed = (await gql<Feed>(gw.url, FEED, { first: 500 })).data!.paymentEvents.edges;
    const firstCursor = feed.find((e) => e.node.id === String(events[0]!.id))!.cursor;

    // Changes keep landing while the subscription replays and switches to live.
    const refunds = (async () => {
      for (let i = 1; i <= 6; i += 1) {
        const r = await gql(gw.url, REFUND, { input: { merOrderId, refundAmount: 100, refundOrderId: `${merOrderId}R${i}` } });
        expect(r.errors).toBeUndefined();
      }
    })();
    const sub = subscribe<Change>(gw.url, CHANGES, { id: merOrderId, after: firstCursor });
    await refunds;
    const finalVersion = events.at(-1)!.version + 6;
    await until('every change up to the last refund', () => (sub.seen.at(-1)?.paymentStatusChanged.version === finalVersion ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const versions = sub.seen.map((s) => s.paymentStatusChanged.version);
    expect(versions).toEqual(Array.from({ length: finalVersion - 1 }, (_, i) => i + 2));
    expect(sub.errors).toEqual([]);

    // Resume from a cursor received on the stream: only what came after it.
    const middle = sub.seen[2]!.paymentStatusChanged;
    await sub.close();
    const resumed = subscribe<Change>(gw.url, CHANGES, { id: merOrderId, after: middle.cursor });
    await until('the resumed replay', () => (resumed.seen.at(-1)?.paymentStatusChanged.version === finalVersion ? true : undefined));
    expect(resumed.seen.map((s) => s.paymentStatusChanged.version)).toEqual(Array.from({ length: finalVersion - middle.version }, (_, i) => middle.version + 1 + i));
    await resumed.close();
  });
});
