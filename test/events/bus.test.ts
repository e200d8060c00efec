/**
 * The payment event bus: in process, and over Postgres LISTEN/NOTIFY (PGlite always, a real
 * server when TEST_DATABASE_URL is set): each committed change reaches every instance once,
 * including after the LISTEN connection was dropped.
 */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import type { PaymentEventRow, PaymentRow } from '../../src/db/schema.js';
import { InProcessBus, type PaymentChange } from '../../src/events/bus.js';
import { encodeNotice, parseNotice, PAYMENT_CHANGE_CHANNEL } from '../../src/events/notice.js';
import { PostgresBus, type NotificationOutcome } from '../../src/events/postgres-bus.js';
import { describeEachDatabase, describePostgres, onServer, postgresDatabase, type TestDatabase } from '../support/db.js';
import { newOrder, pay } from '../graphql/fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

/** Moves a NEW_ORDER payment to WAIT_BUYER_PAY with its event, committed without pg_notify: nothing rings; only a catch-up can find it. */
async function commitWithoutNotify(db: Database, merOrderId: string): Promise<void> {
  await db.execute(sql`update payments set status = 'WAIT_BUYER_PAY', version = 2 where mer_order_id = ${merOrderId}`);
  await db.execute(
    sql`insert into payment_events (mer_order_id, source, previous_status, status, version) values (${merOrderId}, 'SYNC', 'NEW_ORDER', 'WAIT_BUYER_PAY', 2)`,
  );
}

function recorder(bus: { subscribe(l: (c: PaymentChange) => void): () => void }) {
  const seen: PaymentChange[] = [];
  const stop = bus.subscribe((c) => seen.push(c));
  return { seen, stop, of: (id: string) => seen.filter((c) => c.event.merOrderId === id).map((c) => `${c.event.version}:${c.event.status}`) };
}

describe('InProcessBus', () => {
  const change = { event: { id: 1, merOrderId: 'x', version: 2 } as PaymentEventRow, payment: { merOrderId: 'x' } as PaymentRow };

  it('delivers to every listener, survives a throwing one, and stops after unsubscribe or close', async () => {
    const errors: unknown[] = [];
    const bus = new InProcessBus((err) => errors.push(err));
    const a: PaymentChange[] = [];
    const b: PaymentChange[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    const stopA = bus.subscribe((c) => a.push(c));
    bus.subscribe((c) => b.push(c));
    bus.publish(change);
    expect([a.length, b.length, errors.length]).toEqual([1, 1, 1]);
    stopA();
    bus.publish(change);
    expect([a.length, b.length]).toEqual([1, 2]);
    await bus.close();
    bus.publish(change);
    expect(b.length).toBe(2);
  });
});

describe('the notice', () => {
  it('reads the one shape the ledger sends, and refuses every other', () => {
    const notice = { merOrderId: '3194a', version: 2, eventId: 17 };
    expect(parseNotice(encodeNotice(notice))).toEqual(notice);
    expect(parseNotice('{"merOrderId":"3194a","version":2,"eventId":17}')).toEqual(notice);
    expect(parseNotice('42')).toBeUndefined();
    expect(parseNotice('{"id":42}')).toBeUndefined();
    expect(parseNotice('{"eventId":17}')).toBeUndefined();
    expect(parseNotice('{"merOrderId":"3194a","version":2}')).toBeUndefined();
    expect(parseNotice('{"merOrderId":"3194a","version":2,"eventId":"17"}')).toBeUndefined();
    expect(parseNotice('DROP TABLE')).toBeUndefined();
  });
});

describeEachDatabase('PostgresBus', (kind) => {
  let h: TestDatabase;
  let bus: PostgresBus;

  beforeAll(async () => {
    h = await kind.open();
  });
  afterEach(async () => {
    await bus?.close();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('delivers each committed change once, with the committed rows', async () => {
    const outcomes: string[] = [];
    bus = await PostgresBus.start({ db: h.db, listener: h, catchUpIntervalMs: 0, onNotification: (o) => outcomes.push(o) });
    const r = recorder(bus);
    const id = await newOrder(h.db);
    await pay(h.db, id);
    await waitFor(() => r.of(id).length === 2);
    await bus.catchUp(); // nothing new: no second delivery
    await sleep(50);
    expect(r.of(id)).toEqual(['1:NEW_ORDER', '2:TRADE_SUCCESS']);
    const last = r.seen.at(-1) as PaymentChange;
    expect(last.payment).toMatchObject({ merOrderId: id, status: 'TRADE_SUCCESS', version: 2 });
    expect(last.event).toMatchObject({ previousStatus: 'NEW_ORDER', source: 'NOTIFY' });
    expect(outcomes.filter((o) => o === 'delivered')).toHaveLength(2);
  });

  it('hears the notice the ledger sends, in its one shape; any other shape on the channel is malformed and delivers nothing', async () => {
    const outcomes: NotificationOutcome[] = [];
    const payloads: string[] = [];
    const raw = await h.listen(PAYMENT_CHANGE_CHANNEL, (p) => payloads.push(p));
    bus = await PostgresBus.start({ db: h.db, listener: h, catchUpIntervalMs: 0, onNotification: (o) => outcomes.push(o) });
    const r = recorder(bus);
    const id = await newOrder(h.db);
    await waitFor(() => r.of(id).length === 1 && payloads.length === 1);
    const [eventId] = r.seen.filter((c) => c.event.merOrderId === id).map((c) => c.event.id);
    expect(parseNotice(payloads[0] as string)).toEqual({ merOrderId: id, version: 1, eventId });
    // The shapes the bus used to accept: a bare id, {id}, {eventId}, {merOrderId, version}.
    for (const other of [String(eventId), `{"id":${eventId}}`, `{"eventId":${eventId}}`, `{"merOrderId":"${id}","version":1}`]) {
      await h.db.execute(sql`select pg_notify(${PAYMENT_CHANGE_CHANNEL}, ${other})`);
    }
    await waitFor(() => outcomes.filter((o) => o === 'malformed').length === 4);
    await raw.close();
    expect(outcomes.filter((o) => o !== 'malformed')).toEqual(['delivered']);
    expect(r.of(id)).toEqual(['1:NEW_ORDER']);
  });

  it('with doorbells only, rings for each commit without reading the changes; a listener added later hears what comes next', async () => {
    const outcomes: NotificationOutcome[] = [];
    let selects = 0;
    const db = new Proxy(h.db, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property !== 'select' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          selects += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    bus = await PostgresBus.start({ db, listener: h, catchUpIntervalMs: 0, onNotification: (o) => outcomes.push(o) });
    let rang = 0;
    bus.onCommitted(() => (rang += 1));
    selects = 0;
    const quiet = await newOrder(h.db);
    await pay(h.db, quiet);
    await waitFor(() => outcomes.length === 2 && rang >= 1);
    expect(outcomes).toEqual(['unwatched', 'unwatched']);
    expect(selects).toBe(0);

    // A catch-up finds what rang no bell: it reads the ids (one select), not the changes.
    const silent = await newOrder(h.db);
    await waitFor(() => outcomes.length === 3);
    await commitWithoutNotify(h.db, silent);
    const before = rang;
    selects = 0;
    await bus.catchUp();
    expect(rang).toBeGreaterThan(before);
    expect(selects).toBe(1);

    const r = recorder(bus);
    await pay(h.db, silent);
    await waitFor(() => r.of(silent).length === 1);
    expect(r.of(silent)).toEqual(['3:TRADE_SUCCESS']);
    expect(r.of(quiet)).toEqual([]);
    expect(outcomes.at(-1)).toBe('delivered');
  });

  it('does not replay history from before it started', async () => {
    const before = await newOrder(h.db);
    bus = await PostgresBus.start({ db: h.db, listener: h, catchUpIntervalMs: 0 });
    const r = recorder(bus);
    await bus.catchUp();
    expect(r.of(before)).toEqual([]);
  });

  it('delivers an announced event whose read failed, even after more than the look-back of later events', async () => {
    let failSelects = 0;
    // The bus's database, with one select that fails on demand (a transient error): the bus builds
    // its prepared read of announced events on the first announcement, so that read fails.
    const flaky = new Proxy(h.db, {
      get(target, prop, receiver) {
        if (prop === 'select') {
          return (...args: Parameters<typeof target.select>) => {
            if (failSelects > 0) {
              failSelects -= 1;
              throw new Error('transient');
            }
            return target.select(...args);
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const outcomes: string[] = [];
    bus = await PostgresBus.start({ db: flaky, listener: h, catchUpIntervalMs: 0, onNotification: (o) => outcomes.push(o) });
    const r = recorder(bus);
    failSelects = 1;
    const unlucky = await newOrder(h.db);
    await waitFor(() => outcomes.includes('error'));
    const later: string[] = [];
    for (let i = 0; i < 250; i++) later.push(await newOrder(h.db));
    await waitFor(() => later.every((id) => r.of(id).length === 1));
    expect(r.of(unlucky)).toEqual([]);
    await bus.catchUp();
    expect(r.of(unlucky)).toEqual(['1:NEW_ORDER']);
    await bus.catchUp(); // read once: not delivered again
    expect(r.of(unlucky)).toEqual(['1:NEW_ORDER']);
    expect(r.seen).toHaveLength(251);
  });

  it('treats what committed while LISTEN was being set up as history, not as late news', async () => {
    let during = '';
    // A LISTEN that takes a while: an order commits before it is established (its NOTIFY is lost).
    const slowListen = {
      listen: async (...args: Parameters<TestDatabase['listen']>) => {
        during = await newOrder(h.db);
        return h.listen(...args);
      },
    };
    bus = await PostgresBus.start({ db: h.db, listener: slowListen, catchUpIntervalMs: 0 });
    const r = recorder(bus);
    const after = await newOrder(h.db);
    await waitFor(() => r.of(after).length === 1);
    await bus.catchUp();
    expect(r.of(during)).toEqual([]);
    expect(r.of(after)).toEqual(['1:NEW_ORDER']);
  });

  it('catches up on an event whose notification never arrived', async () => {
    bus = await PostgresBus.start({ db: h.db, listener: h, catchUpIntervalMs: 50 });
    const r = recorder(bus);
    const id = await newOrder(h.db);
    await waitFor(() => r.of(id).length === 1);
    await commitWithoutNotify(h.db, id);
    await waitFor(() => r.of(id).length === 2);
    await sleep(150); // several more catch-up rounds
    expect(r.of(id)).toEqual(['1:NEW_ORDER', '2:WAIT_BUYER_PAY']);
  });
});

describePostgres('PostgresBus across instances (real Postgres)', () => {
  let h: TestDatabase;
  let other: Awaited<ReturnType<typeof import('../../src/db/database.js').openDatabase>>;
  const buses: PostgresBus[] = [];

  beforeAll(async () => {
    h = await postgresDatabase();
    const { openDatabase } = await import('../../src/db/database.js');
    other = await openDatabase({ url: h.url as string });
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    await other?.close();
    await h?.close();
  });

  it('a change written by one instance reaches the other, once each', async () => {
    const a = await PostgresBus.start({ db: h.db, listener: h, catchUpIntervalMs: 0 });
    const b = await PostgresBus.start({ db: other.db, listener: other, catchUpIntervalMs: 0 });
    buses.push(a, b);
    const ra = recorder(a);
    const rb = recorder(b);
    const id = await newOrder(h.db);
    await pay(other.db, id);
    await waitFor(() => ra.of(id).length === 2 && rb.of(id).length === 2);
    await sleep(100);
    expect(ra.of(id)).toEqual(['1:NEW_ORDER', '2:TRADE_SUCCESS']);
    expect(rb.of(id)).toEqual(['1:NEW_ORDER', '2:TRADE_SUCCESS']);
  });

  it('delivers an event whose id was taken before start but which committed after it', async () => {
    const id = await newOrder(h.db);
    const writer = postgres(h.url as string, { max: 1, onnotice: () => {} });
    try {
      let release = (): void => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      let taken = (): void => {};
      const idTaken = new Promise<void>((resolve) => (taken = resolve));
      // A transaction in flight across the start: its event id is below ids that commit first.
      const inFlight = writer.begin(async (tx) => {
        await tx`update payments set status = 'WAIT_BUYER_PAY', version = 2 where mer_order_id = ${id}`;
        const [row] = await tx`insert into payment_events (mer_order_id, source, previous_status, status, version)
          values (${id}, 'SYNC', 'NEW_ORDER', 'WAIT_BUYER_PAY', 2) returning id`;
        await tx`select pg_notify(${PAYMENT_CHANGE_CHANNEL}, ${encodeNotice({ merOrderId: id, version: 2, eventId: Number(row?.id) })})`;
        taken();
        await gate;
      });
      await idTaken;
      await newOrder(h.db); // a higher id, committed before the start
      const bus = await PostgresBus.start({ db: h.db, listener: h, catchUpIntervalMs: 0 });
      buses.push(bus);
      const r = recorder(bus);
      release();
      await inFlight;
      await waitFor(() => r.of(id).length === 1, 5000);
      await bus.catchUp();
      expect(r.of(id)).toEqual(['2:WAIT_BUYER_PAY']);
    } finally {
      await writer.end({ timeout: 5 });
    }
  });

  it('catches up as soon as the LISTEN connection is back (no timer needed)', async () => {
    const bus = await PostgresBus.start({ db: other.db, listener: other, catchUpIntervalMs: 0 });
    buses.push(bus);
    const r = recorder(bus);
    const id = await newOrder(h.db);
    await waitFor(() => r.of(id).length === 1);
    await commitWithoutNotify(h.db, id);
    await sleep(100);
    expect(r.of(id)).toEqual(['1:NEW_ORDER']);
    await onServer((s) => s`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${h.name as string} and query ilike 'listen%'`);
    await waitFor(() => r.of(id).length === 2, 10_000);
    expect(r.of(id)).toEqual(['1:NEW_ORDER', '2:WAIT_BUYER_PAY']);
  });

  it('reconnects after its LISTEN connection is killed and misses nothing', async () => {
    const bus = await PostgresBus.start({ db: other.db, listener: other, catchUpIntervalMs: 500 });
    buses.push(bus);
    const r = recorder(bus);
    const id = await newOrder(h.db);
    await waitFor(() => r.of(id).length === 1);

    const killed = await onServer(
      (s) => s`select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = ${h.name as string} and query ilike 'listen%'`,
    );
    expect(killed.length).toBeGreaterThan(0);
    // Written while the listener is (probably) still reconnecting: its NOTIFY may be lost.
    await pay(h.db, id);
    await waitFor(() => r.of(id).length === 2, 10_000);
    await sleep(1200); // past two catch-up rounds
    expect(r.of(id)).toEqual(['1:NEW_ORDER', '2:TRADE_SUCCESS']);

    // And the re-established LISTEN hears new changes.
    const next = await newOrder(h.db);
    await waitFor(() => r.of(next).length === 1, 10_000);
  });
});
