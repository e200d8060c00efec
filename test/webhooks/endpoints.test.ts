/**
 * Endpoints by merchant (another merchant's endpoint reads as absent), which events an endpoint
 * gets, secrets sealed at rest, and "no endpoint, no work": an engine with no enabled endpoint
 * sends no query while payments change.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { webhookEndpoints, type PaymentEventRow } from '../../src/db/schema.js';
import { PostgresBus } from '../../src/events/postgres-bus.js';
import { insertNewOrder } from '../../src/payments/ledger.js';
import { wants } from '../../src/webhooks/deliveries.js';
import { WebhookEndpoints } from '../../src/webhooks/endpoints.js';
import { WebhookEngine } from '../../src/webhooks/engine.js';
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
});
