/**
 * A whole gateway slice for command and scheduler tests, from real parts: a database (PGlite or
 * a fresh Postgres database), the UMS simulator over HTTP, the real signed client and typed
 * operations, the notify endpoint the simulator posts to, and the payment commands.
 */
import { randomUUID } from 'node:crypto';
import { eq, asc } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { DEMO } from '../../../src/config.js';
import type { Database } from '../../../src/db/database.js';
import { paymentEvents, payments, refunds } from '../../../src/db/schema.js';
import { PostgresBus } from '../../../src/events/postgres-bus.js';
import { notifyRoute } from '../../../src/http/notify.js';
import { NotificationBatcher } from '../../../src/payments/ledger.js';
import { buildServer } from '../../../src/http/server.js';
import type { CommandOptions } from '../../../src/payments/commands-api.js';
import { PaymentService, type PaymentServiceOptions } from '../../../src/payments/commands.js';
import { startSimulator, type UmsSimulator } from '../../../src/sim/simulator.js';
import { UmsClient } from '../../../src/ums/client.js';
import { UmsOperations } from '../../../src/ums/operations.js';
import type { TestDatabase } from '../../support/db.js';

export const silent: Logger = pino({ level: 'silent' });

export interface Slice {
  database: TestDatabase;
  sim: UmsSimulator;
  client: UmsClient;
  ops: UmsOperations;
  service: PaymentService;
  gateway: FastifyInstance;
  /** The event bus over the slice's database: every committed change of a payment. */
  bus: PostgresBus;
  notifyUrl: string;
  payment(merOrderId: string): Promise<typeof payments.$inferSelect>;
  events(merOrderId: string): Promise<(typeof paymentEvents.$inferSelect)[]>;
  refund(refundOrderId: string): Promise<typeof refunds.$inferSelect>;
  close(): Promise<void>;
}

export interface SliceOptions {
  syncAfterMs?: number;
  /** The simulator's redelivery delays; short by default so tests do not wait. */
  notifyBackoffMs?: number[];
  log?: Logger;
  service?: Partial<PaymentServiceOptions>;
  /** UMS base URL to use instead of the simulator's (e.g. a scripted peer). */
  baseUrl?: string;
  /** The simulator's clock (default the wall clock). */
  simulatorNow?: () => Date;
}

export async function startSlice(database: TestDatabase, options: SliceOptions = {}): Promise<Slice> {
  const log = options.log ?? silent;
  const gateway = await buildServer({
    log: silent,
    ready: () => database.ready(),
    plugins: [notifyRoute({ db: database.db, batcher: new NotificationBatcher(database.db), keys: () => [DEMO.notifyKey], log: silent })],
  });
  await gateway.listen({ port: 0, host: '127.0.0.1' });
  const address = gateway.server.address();
  if (address === null || typeof address === 'string') throw new Error('gateway has no port');
  const notifyUrl = `http://127.0.0.1:${address.port}/notify/ums`;

  const sim = await startSimulator({
    credentials: { ...DEMO },
    notifyUrl,
    notifyBackoffMs: options.notifyBackoffMs ?? [0, 100, 200, 400],
    ...(options.simulatorNow ? { now: options.simulatorNow } : {}),
  });
  const client = new UmsClient({
    baseUrl: options.baseUrl ?? sim.url,
    appId: DEMO.appId,
    appKey: DEMO.appKey,
    logger: log,
    headersTimeoutMs: 2_000,
    bodyTimeoutMs: 2_000,
  });
  const ops = new UmsOperations(client, { mid: DEMO.mid, tid: DEMO.tid, sourceId: DEMO.sourceId, notifyUrl });
  const bus = await PostgresBus.start({ db: database.db, listener: database, log: silent });
  const service = new PaymentService({
    db: database.db,
    ums: ops,
    client,
    sourceId: DEMO.sourceId,
    syncAfterMs: options.syncAfterMs ?? 60_000,
    log,
    simulator: sim,
    bus,
    simulateWaitMs: 3_000,
    ...options.service,
  });

  return {
    database,
    sim,
    client,
    ops,
    service,
    gateway,
    bus,
    notifyUrl,
    async payment(merOrderId) {
      const [row] = await database.db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
      if (!row) throw new Error(`no payment ${merOrderId}`);
      return row;
    },
    events: (merOrderId) =>
      database.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId)).orderBy(asc(paymentEvents.id)),
    async refund(refundOrderId) {
      const [row] = await database.db.select().from(refunds).where(eq(refunds.refundOrderId, refundOrderId));
      if (!row) throw new Error(`no refund ${refundOrderId}`);
      return row;
    },
    async close() {
      await sim.close();
      await client.close();
      await gateway.close();
      await bus.close();
    },
  };
}

/**
 * Resolves with the payment once the bus hears it reach `status` (subscribe before acting, so
 * the change cannot slip past); fails after `timeoutMs`.
 */
export function statusHeard(bus: PostgresBus, merOrderId: string, status: string, timeoutMs = 10_000): Promise<typeof payments.$inferSelect> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for ${merOrderId} to become ${status}`));
    }, timeoutMs);
    const unsubscribe = bus.subscribe(({ payment }) => {
      if (payment.merOrderId !== merOrderId || payment.status !== status) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(payment);
    });
  });
}

/**
 * A scheduler's clock that tests move forward instead of sleeping: `ahead` ms past real time, so
 * rows become due (quiet period over, expiry passed) at once.
 */
/**
 * The scheduler's clock: the wall clock moved `ahead` ms, or, while `at` is set, that instant
 * (a round then judges rows as of a moment the test chose, however slowly the machine ran).
 */
export function testClock(): { ahead: number; at: Date | undefined; now: () => Date } {
  const clock = { ahead: 0, at: undefined as Date | undefined, now: () => clock.at ?? new Date(Date.now() + clock.ahead) };
  return clock;
}

/** Polls `check` until it returns something truthy, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A fresh Idempotency-Key: what a refund without its own refundOrderId must carry. */
export const once = (): CommandOptions => ({ idempotencyKey: randomUUID() });

export const WECHAT = { channel: 'WECHAT_MINI', subOpenId: 'oQx9a5bC7dE1fG3hJ5kL7mN9pQr' } as const;

/**
 * `db` with a count of the query builders started through it (`select`, `insert`…): shows
 * whether a wait re-reads the database on a timer or waits for an event.
 */
export function countingDb(db: Database): { db: Database; calls: (method: string) => number } {
  const counts = new Map<string, number>();
  const proxy = new Proxy(db, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof name === 'string') counts.set(name, (counts.get(name) ?? 0) + 1);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: proxy, calls: (method) => counts.get(method) ?? 0 };
}
