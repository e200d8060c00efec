/**
 * A whole gateway slice for command and scheduler tests, from real parts: a database (PGlite or
 * a fresh Postgres database), the UMS simulator over HTTP, the real signed client and typed
 * operations, the notify endpoint the simulator posts to, and the payment commands.
 */
import { eq, asc } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { DEMO } from '../../src/config.js';
import { paymentEvents, payments, refunds } from '../../src/db/schema.js';
import { notifyRoute } from '../../src/http/notify.js';
import { NotificationBatcher } from '../../src/payments/ledger.js';
import { buildServer } from '../../src/http/server.js';
import { PaymentService, type PaymentServiceOptions } from '../../src/payments/commands.js';
import { startSimulator, type UmsSimulator } from '../../src/sim/simulator.js';
import { UmsClient } from '../../src/ums/client.js';
import { UmsOperations } from '../../src/ums/operations.js';
import type { TestDatabase } from '../support/db.js';

export const silent: Logger = pino({ level: 'silent' });

export interface Slice {
  database: TestDatabase;
  sim: UmsSimulator;
  client: UmsClient;
  ops: UmsOperations;
  service: PaymentService;
  gateway: FastifyInstance;
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
  const service = new PaymentService({
    db: database.db,
    ums: ops,
    client,
    sourceId: DEMO.sourceId,
    syncAfterMs: options.syncAfterMs ?? 60_000,
    log,
    simulator: sim,
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
    },
  };
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

export const WECHAT = { channel: 'WECHAT_MINI', subOpenId: 'oQx9a5bC7dE1fG3hJ5kL7mN9pQr' } as const;
