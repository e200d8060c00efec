/**
 * The event feed (src/events/feed.ts): a reader paging with `after` never misses an event and
 * never sees one twice, also when a slow transaction holding an earlier id commits late, and
 * under concurrent writers on two database handles (two gateway instances' pools).
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { paymentEvents } from '../../src/db/schema.js';
import { decodeFeedCursor, encodeFeedCursor, readFeed, type FeedPosition } from '../../src/events/feed.js';
import { insertNewOrder } from '../../src/payments/ledger.js';
import { describeEachDatabase, describePostgres, postgresDatabase, type TestDatabase } from '../support/db.js';

let counter = 0;
const orderId = () => `feed${Date.now().toString(36)}${(counter++).toString(36)}`;
const newOrder = (merOrderId: string) => ({ merOrderId, totalAmount: 100, mid: 'm', tid: 't', channel: 'QR_CODE' as const });

/**
 * Drains until `count` events were served: the horizon is this database's oldest transaction in
 * flight, and the suite's own other handles may hold it back for a moment.
 */
async function drainAtLeast(db: DatabaseHandle['db'], after: FeedPosition | undefined, count: number, pageSize = 7): Promise<{ ids: number[]; after: FeedPosition | undefined }> {
  const ids: number[] = [];
  let position = after;
  const end = Date.now() + 15_000;
  while (ids.length < count && Date.now() < end) {
    const page = await drain(db, position, pageSize);
    ids.push(...page.ids);
    position = page.after ?? position;
    if (ids.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { ids, after: position };
}

/** Pages through the feed from `after` until it serves nothing more; answers the ids and the last position. */
async function drain(db: DatabaseHandle['db'], after: FeedPosition | undefined, pageSize = 7): Promise<{ ids: number[]; after: FeedPosition | undefined }> {
  const ids: number[] = [];
  let position = after;
  for (;;) {
    const page = await readFeed(db, { first: pageSize, ...(position ? { after: position } : {}) });
    for (const event of page.events) {
      ids.push(event.id);
      position = { txId: event.txId, id: event.id };
    }
    if (!page.hasMore) return { ids, after: position };
  }
}

describe('feed cursors', () => {
  it('round-trip, and anything else is refused', () => {
    const cursor = encodeFeedCursor({ txId: '123456789012', id: 42 });
    expect(decodeFeedCursor(cursor)).toEqual({ txId: '123456789012', id: 42 });
    for (const bad of ['', 'x', Buffer.from('1:2:3').toString('base64url'), Buffer.from('-1:2').toString('base64url'), 'a'.repeat(100), '!!!']) {
      expect(decodeFeedCursor(bad)).toBeUndefined();
    }
  });
});

describeEachDatabase('the event feed', (kind) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await kind.open();
  });
  afterAll(() => h?.close());

  it('serves committed events oldest first, pages without gap or repeat, and grows only at its end', async () => {
    const before = await drain(h.db, undefined);
    for (let i = 0; i < 10; i += 1) await insertNewOrder(h.db, newOrder(orderId()));
    const after = await drainAtLeast(h.db, before.after, 10, 3);
    expect(after.ids).toHaveLength(10);
    expect([...after.ids].sort((a, b) => a - b)).toEqual(after.ids);
    expect((await drain(h.db, after.after)).ids).toEqual([]);
  });
});

describePostgres('the event feed under concurrent writers [postgres]', () => {
  let h: TestDatabase;
  let second: DatabaseHandle;
  let raw: postgres.Sql;
  beforeAll(async () => {
    h = await postgresDatabase();
    second = await openDatabase({ url: h.url! });
    raw = postgres(h.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await raw?.end({ timeout: 5 });
    await second?.close();
    await h?.close();
  });

  it('an event committed late by a slow transaction holding an earlier id is served, before the later one, and nothing is skipped', async () => {
    const slowOrder = orderId();
    const { event: created } = await insertNewOrder(h.db, newOrder(slowOrder));
    // Past the order's own first event (waiting, if another suite's transaction holds the horizon).
    let base: FeedPosition | undefined;
    for (const end = Date.now() + 15_000; Date.now() < end; ) {
      const page = await drain(h.db, base);
      base = page.after ?? base;
      if (base && page.ids.includes(created.id)) break;
      if (base && base.id === created.id) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let slowId = 0;
    const slow = raw.begin(async (tx) => {
      const [row] = await tx`insert into payment_events (mer_order_id, source, status, version) values (${slowOrder}, 'SYNC', 'WAIT_BUYER_PAY', 2) returning id`;
      slowId = Number(row!.id);
      await held;
    });
    while (slowId === 0) await new Promise((resolve) => setTimeout(resolve, 10));

    // A later id commits first, on another instance's pool.
    const fast = orderId();
    await insertNewOrder(second.db, newOrder(fast));
    const [fastEvent] = await second.db.select().from(paymentEvents).where(sql`${paymentEvents.merOrderId} = ${fast}`);
    expect(fastEvent!.id).toBeGreaterThan(slowId);
    // While the slow transaction is in flight, the feed holds back what came after it.
    expect((await drain(h.db, base)).ids).toEqual([]);

    release();
    await slow;
    const { ids } = await drainAtLeast(h.db, base, 2);
    expect(ids).toEqual([slowId, fastEvent!.id]);
  });

  it('two instances writing concurrently while a reader pages on: every event once, none missed', async () => {
    const { after: start } = await drain(h.db, undefined);
    const written: number[] = [];
    let writing = true;
    const writer = async (db: DatabaseHandle['db'], n: number) => {
      for (let i = 0; i < n; i += 1) {
        const { event } = await insertNewOrder(db, newOrder(orderId()));
        written.push(event.id);
      }
    };
    const seen: number[] = [];
    const reader = (async () => {
      let position = start;
      const end = Date.now() + 60_000;
      // Until the writers are done and everything written was served (or served too much).
      while (Date.now() < end) {
        const stillWriting = writing;
        const { ids, after } = await drain(h.db, position, 5);
        seen.push(...ids);
        position = after ?? position;
        if (!stillWriting && seen.length >= written.length) return;
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
    await Promise.all([writer(h.db, 60), writer(h.db, 60), writer(second.db, 60), writer(second.db, 60)]);
    writing = false;
    await reader;
    expect(seen).toHaveLength(new Set(seen).size);
    // Everything written was served (the reader may also have met older events the horizon had held).
    const served = new Set(seen);
    expect(written.filter((id) => !served.has(id))).toEqual([]);
  });
});

describePostgres('the feed horizon is per database [postgres]', () => {
  let h: TestDatabase;
  let other: TestDatabase;
  let otherRaw: postgres.Sql;
  beforeAll(async () => {
    h = await postgresDatabase();
    other = await postgresDatabase();
    otherRaw = postgres(other.url!, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await otherRaw?.end({ timeout: 5 });
    await other?.close();
    await h?.close();
  });

  it('a transaction held open in another database on the same server does not hold the feed back (one in this database does: the test above)', async () => {
    const { after: start } = await drainAtLeast(h.db, undefined, 0);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    // Another database's transaction, holding an xid (older than the event below) until released.
    const elsewhere = otherRaw.begin(async (tx) => {
      await tx`select pg_current_xact_id()`;
      holding = true;
      await held;
    });
    while (!holding) await new Promise((resolve) => setTimeout(resolve, 10));
    try {
      const { event } = await insertNewOrder(h.db, newOrder(orderId()));
      // Served while the other database's transaction is still open (drainAtLeast gives up after 15 s).
      const { ids } = await drainAtLeast(h.db, start, 1);
      expect(ids).toContain(event.id);
    } finally {
      release();
      await elsewhere;
    }
  });
});
