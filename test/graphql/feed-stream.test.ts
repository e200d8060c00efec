/**
 * The resumable subscription's stream (src/graphql/feed-stream.ts) at its hardest seam: a change
 * announced live while an older transaction holding an earlier event is still open. It must wait
 * for the older one and emit both in feed order: no gap (the late one is not skipped) and no
 * duplicate.
 */
import { SEES_ALL } from '../../src/access/visibility.js';
import postgres from 'postgres';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresBus } from '../../src/events/postgres-bus.js';
import { FEED_START, readFeed } from '../../src/events/feed.js';
import { noticeSql } from '../../src/events/notice.js';
import { feedStream } from '../../src/graphql/feed-stream.js';
import { PaymentReads } from '../../src/graphql/data.js';
import { insertNewOrder } from '../../src/payments/ledger.js';
import { describeEachDatabase, describePostgres, postgresDatabase, type TestDatabase } from '../support/db.js';
import { InProcessBus } from '../../src/events/bus.js';
import { sql } from 'drizzle-orm';

const silent = pino({ level: 'silent' });

describePostgres('feed-stream across a late commit [postgres]', () => {
  let h: TestDatabase;
  let raw: postgres.Sql;
  let bus: PostgresBus;
  beforeAll(async () => {
    h = await postgresDatabase();
    raw = postgres(h.url!, { max: 1, onnotice: () => {} });
    bus = await PostgresBus.start({ db: h.db, listener: h, log: silent, catchUpIntervalMs: 0 });
  });
  afterAll(async () => {
    await bus?.close();
    await raw?.end({ timeout: 5 });
    await h?.close();
  });

  it('waits for the older transaction, then emits its event before the newer one, each once', async () => {
    const merOrderId = `fs${Date.now().toString(36)}`;
    await insertNewOrder(h.db, { merOrderId, totalAmount: 100, mid: 'm', tid: 't', channel: 'QR_CODE' });
    let after = FEED_START;
    for (;;) {
      const page = await readFeed(h.db, { after, first: 500 });
      const last = page.events.at(-1);
      if (last) after = { txId: last.txId, id: last.id };
      if (!page.hasMore && page.events.length === 0) break;
    }
    const reads = new PaymentReads(h.db);
    const stream = feedStream({ db: h.db, bus, after, merOrderId, findPayment: (id) => reads.findPayment(id, SEES_ALL), retryMs: 50 });
    const seen: number[] = [];
    const consuming = (async () => {
      for await (const change of stream) {
        seen.push(change.version);
        if (seen.length === 2) return;
      }
    })();

    // The older transaction takes its event id first and stays open.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let opened = false;
    const slow = raw.begin(async (tx) => {
      await tx`insert into payment_events (mer_order_id, source, status, version) values (${merOrderId}, 'SYNC', 'WAIT_BUYER_PAY', 2)`;
      opened = true;
      await held;
    });
    while (!opened) await new Promise((resolve) => setTimeout(resolve, 10));
    // A newer one commits and is announced at once (pg_notify like the ledger's).
    await h.db.execute(
      sql`with e as (insert into payment_events (mer_order_id, source, status, version) values (${merOrderId}, 'SYNC', 'TRADE_SUCCESS', 3) returning id, mer_order_id, version)
          select ${noticeSql({ merOrderId: sql.raw('e.mer_order_id'), version: sql.raw('e.version'), eventId: sql.raw('e.id') })} from e`,
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Announced, but not emitted: the older transaction may still commit an earlier event.
    expect(seen).toEqual([]);
    release();
    await slow;
    await consuming;
    expect(seen).toEqual([2, 3]);
    await stream.return?.();
  });
});

describeEachDatabase('feed-stream work per subscriber', (kind) => {
  let h: TestDatabase;
  const busy = `busy${Date.now().toString(36)}`;
  beforeAll(async () => {
    h = await kind.open();
    await insertNewOrder(h.db, { merOrderId: busy, totalAmount: 100, mid: 'm', tid: 't', channel: 'QR_CODE' });
    // 300 more events of a payment of mid m.
    await h.db.execute(
      sql`insert into payment_events (mer_order_id, source, status, version) select ${busy}, 'SYNC', 'WAIT_BUYER_PAY', g from generate_series(2, 301) g`,
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it('filters mid in the feed query: a mid that matches nothing does not look up every event', async () => {
    const reads = new PaymentReads(h.db);
    let lookups = 0;
    const other = `x${Date.now().toString(36)}`;
    await insertNewOrder(h.db, { merOrderId: other, totalAmount: 100, mid: 'x', tid: 't', channel: 'QR_CODE' });
    const bus = new InProcessBus();
    const stream = feedStream({
      db: h.db,
      bus,
      after: FEED_START,
      mid: 'x',
      findPayment: (id) => {
        lookups++;
        return reads.findPayment(id, SEES_ALL);
      },
    });
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(first.value?.payment.merOrderId).toBe(other);
    expect(lookups).toBe(1);
    await stream.return?.();
  });

  it('reads at most about a page ahead of a consumer that does not pull, whatever was emitted', async () => {
    let lookups = 0;
    const bus = new InProcessBus();
    // Nothing visible: before, the pump read the whole feed (one lookup per event) unasked.
    const stream = feedStream({
      db: h.db,
      bus,
      after: FEED_START,
      findPayment: () => {
        lookups++;
        return Promise.resolve(undefined);
      },
    });
    // Wait until the reading stops (no new lookups for a while), generously.
    let last = -1;
    for (let i = 0; i < 100 && lookups !== last; i++) {
      last = lookups;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(lookups).toBeGreaterThan(0);
    expect(lookups).toBeLessThanOrEqual(100);
    await stream.return?.();
  });
});
