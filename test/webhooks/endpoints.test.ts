/**
 * Endpoints by merchant (another merchant's endpoint reads as absent), which events an endpoint
 * gets, secrets sealed at rest, and "no endpoint, no work": an engine with no enabled endpoint
 * sends no query while payments change.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { webhookDeliveries, webhookEndpoints, type PaymentEventRow } from '../../src/db/schema.js';
import { eq } from 'drizzle-orm';
import { until } from '../app/support.js';
import { PostgresBus } from '../../src/events/postgres-bus.js';
import { insertNewOrder } from '../../src/payments/ledger.js';
import { claim, wants } from '../../src/webhooks/deliveries.js';
import { MAX_ENDPOINTS_PER_MERCHANT, WebhookEndpoints } from '../../src/webhooks/endpoints.js';
import { dispatcherCursor, WebhookEngine } from '../../src/webhooks/engine.js';
import { isAfter, positionOf } from '../../src/events/feed.js';
import { SecretBox } from '../../src/merchants/secret-box.js';
import { WebhookSender } from '../../src/webhooks/sender.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';

const silent = pino({ level: 'silent' });
const box = new SecretBox(randomBytes(32));

/** Counts every query-building call on `db` (select, insert, update, delete, execute, transaction). */
function counting(db: Database): { db: Database; count: () => number } {
  let calls = 0;
  const proxy = new Proxy(db, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value === 'function' && ['select', 'insert', 'update', 'delete', 'execute', 'transaction'].includes(String(property))) {
        return (...args: unknown[]) => {
          calls += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
  return { db: proxy, count: () => calls };
}

describeEachDatabase('webhook endpoints', (kind) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await kind.open();
  });
  afterAll(() => h?.close());

  it("a merchant's endpoint is invisible to another merchant: get, update, rotate, delete answer nothing", async () => {
    const store = new WebhookEndpoints(h.db, box);
    const { row, secret } = await store.create({ url: 'https://hooks.example.com/a', events: [], merchantId: 'shop1', description: null });
    expect(row.secret).not.toContain(secret.slice(6));
    expect(box.open(row.secret)).toBe(secret);
    expect(await store.get(row.id, 'shop2')).toBeUndefined();
    expect(await store.update(row.id, 'shop2', { enabled: false })).toBeUndefined();
    expect(await store.rotate(row.id, 'shop2')).toBeUndefined();
    expect(await store.delete(row.id, 'shop2')).toBe(false);
    expect((await store.list('shop2')).map((e) => e.id)).not.toContain(row.id);
    expect((await store.list('shop1')).map((e) => e.id)).toContain(row.id);
    expect((await store.get(row.id, 'shop1'))?.enabled).toBe(true);
    expect(await store.delete(row.id, undefined)).toBe(true);
  });

  it('an endpoint gets its merchant’s events (a gateway-wide one every merchant’s) of its types, from its creation on', () => {
    const event = { merchantId: 'shop1', kind: 'refund', txId: '100' } as PaymentEventRow;
    const target = (merchantId: string | null, events: string[], feedFrom = '50') => ({ id: 'e', merchantId, events, feedFrom });
    expect(wants(target(null, []), event)).toBe(true);
    expect(wants(target('shop1', []), event)).toBe(true);
    expect(wants(target('shop2', []), event)).toBe(false);
    expect(wants(target(null, ['PAYMENT_STATUS_CHANGED']), event)).toBe(false);
    expect(wants(target(null, ['REFUND_STATUS_CHANGED']), event)).toBe(true);
    expect(wants(target(null, [], '101'), event)).toBe(false);
  });

  it('no endpoint, no work: with no enabled endpoint the engine sends no query while payments change', async () => {
    await h.db.delete(webhookEndpoints);
    const bus = await PostgresBus.start({ db: h.db, listener: h, log: silent, catchUpIntervalMs: 0 });
    const watched = counting(h.db);
    const sender = new WebhookSender({ allowHttp: true, allowLoopback: true, allowPrivate: false }, 1000);
    const engine = await WebhookEngine.start({ db: watched.db, listener: h, bus, endpoints: new WebhookEndpoints(watched.db, box), sender, retryScheduleMs: [100], timeoutMs: 1000, log: silent, pollMs: 50 });
    try {
      await engine.idle();
      const atStart = watched.count();
      let heard = 0;
      const unsubscribe = bus.subscribe(() => (heard += 1));
      for (let i = 0; i < 5; i += 1) await insertNewOrder(h.db, { merOrderId: `nowork${Date.now()}${i}`, totalAmount: 1, mid: 'm', tid: 't', channel: 'QR_CODE' });
      const end = Date.now() + 10_000;
      while (heard < 5 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await engine.idle();
      unsubscribe();
      expect(heard).toBe(5);
      expect(watched.count()).toBe(atStart);
    } finally {
      await engine.close();
      await sender.close();
      await bus.close();
    }
  });

  /** An engine that queues but sends nothing (no worker slot), on its own bus. */
  async function queueingEngine(): Promise<{ engine: WebhookEngine; close: () => Promise<void> }> {
    const bus = await PostgresBus.start({ db: h.db, listener: h, log: silent, catchUpIntervalMs: 0 });
    const sender = new WebhookSender({ allowHttp: true, allowLoopback: true, allowPrivate: false }, 1000);
    const engine = await WebhookEngine.start({ db: h.db, listener: h, bus, endpoints: new WebhookEndpoints(h.db, box), sender, retryScheduleMs: [100], timeoutMs: 1000, log: silent, pollMs: 50, concurrency: 0 });
    return {
      engine,
      close: async () => {
        await engine.close();
        await sender.close();
        await bus.close();
      },
    };
  }

  async function queuedFor(endpointId: string): Promise<number[]> {
    const rows = await h.db.select({ eventId: webhookDeliveries.eventId }).from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));
    return rows.map((r) => r.eventId);
  }

  it('re-enabling an endpoint queues nothing of what was written while it was disabled, and what comes after', async () => {
    await h.db.delete(webhookDeliveries);
    await h.db.delete(webhookEndpoints);
    const { close } = await queueingEngine();
    try {
      const store = new WebhookEndpoints(h.db, box);
      const { row } = await store.create({ url: 'http://127.0.0.1:9/hook', events: [], merchantId: null, description: null });
      await store.update(row.id, undefined, { enabled: false });
      const backlog: number[] = [];
      for (let i = 0; i < 5; i += 1) backlog.push((await insertNewOrder(h.db, { merOrderId: `off${Date.now()}${i}`, totalAmount: 1, mid: 'm', tid: 't', channel: 'QR_CODE' })).event.id);
      await store.update(row.id, undefined, { enabled: true });
      const later = (await insertNewOrder(h.db, { merOrderId: `on${Date.now()}`, totalAmount: 1, mid: 'm', tid: 't', channel: 'QR_CODE' })).event.id;
      const queued = await until('the event after enabling queued', async () => {
        const ids = await queuedFor(row.id);
        return ids.includes(later) ? ids : undefined;
      });
      expect(queued.filter((id) => backlog.includes(id))).toEqual([]);
    } finally {
      await close();
    }
  });

  it('an instance that has not reloaded its endpoints still queues for one created meanwhile', async () => {
    await h.db.delete(webhookDeliveries);
    await h.db.delete(webhookEndpoints);
    const store = new WebhookEndpoints(h.db, box);
    // An endpoint of another merchant: the instance has something to dispatch for.
    await store.create({ url: 'http://127.0.0.1:9/a', events: [], merchantId: 'elsewhere', description: null });
    const { engine, close } = await queueingEngine();
    try {
      await engine.idle();
      // Created without the announcement: as another instance's creation not yet heard of here.
      const [created] = await h.db
        .insert(webhookEndpoints)
        .values({ id: `whe_stale${Date.now()}`, url: 'http://127.0.0.1:9/b', merchantId: null, events: [], secret: box.seal('whsec_x') })
        .returning();
      const event = (await insertNewOrder(h.db, { merOrderId: `st${Date.now()}`, totalAmount: 1, mid: 'm', tid: 't', channel: 'QR_CODE' })).event;
      await until('the dispatcher past the event', async () => {
        engine.kick();
        const at = await dispatcherCursor(h.db);
        return at && !isAfter(positionOf(event), at) ? at : undefined;
      });
      expect(await queuedFor(created!.id)).toContain(event.id);
    } finally {
      await close();
    }
  });

  it('one merchant cannot take every endpoint or every delivery slot', async () => {
    await h.db.delete(webhookDeliveries);
    await h.db.delete(webhookEndpoints);
    const store = new WebhookEndpoints(h.db, box);
    const hog: string[] = [];
    for (let i = 0; i < MAX_ENDPOINTS_PER_MERCHANT; i += 1) hog.push((await store.create({ url: `https://hooks.example.com/${i}`, events: [], merchantId: 'hog', description: null })).row.id);
    await expect(store.create({ url: 'https://hooks.example.com/more', events: [], merchantId: 'hog', description: null })).rejects.toThrow(/per merchant/);
    const other = (await store.create({ url: 'https://hooks.example.com/other', events: [], merchantId: 'small', description: null })).row.id;

    // Due attempts: many for three of the hog's endpoints, queued before the small merchant's few.
    const events: number[] = [];
    for (let i = 0; i < 6; i += 1) events.push((await insertNewOrder(h.db, { merOrderId: `fair${Date.now()}${i}`, totalAmount: 1, mid: 'm', tid: 't', channel: 'QR_CODE' })).event.id);
    const due = new Date(Date.now() - 1000);
    const row = (eventId: number, endpointId: string) => ({ eventId, endpointId, eventType: 'PAYMENT_STATUS_CHANGED', attempt: 1, status: 'PENDING', dueAt: due, at: due });
    await h.db.insert(webhookDeliveries).values(events.flatMap((e) => hog.slice(0, 3).map((id) => row(e, id))));
    await h.db.insert(webhookDeliveries).values(events.slice(0, 3).map((e) => row(e, other)));

    const claimed = await claim(h.db, 'fairness-test', 16, 4, 60_000, 4);
    const hogs = claimed.filter((c) => hog.includes(c.delivery.endpointId)).length;
    const smalls = claimed.filter((c) => c.delivery.endpointId === other).length;
    expect(hogs).toBe(4);
    expect(smalls).toBe(3);
    // Its 4 in flight: nothing more for the hog until one is done, still room for others.
    expect((await claim(h.db, 'fairness-test', 16, 4, 60_000, 4)).filter((c) => hog.includes(c.delivery.endpointId))).toHaveLength(0);
  });
});
