/**
 * The Postgres LISTEN/NOTIFY bus: how a change stored by any gateway instance reaches the
 * subscribers of every instance.
 *
 * - The ledger appends a payment_events row and, in the same transaction, `pg_notify`s its id on
 *   PAYMENT_EVENTS_CHANNEL. Postgres delivers the notification only after the commit, so the row is
 *   there to be read. NOTIFY carries ids, not payloads: its 8000-byte cap and its lack of
 *   authorization make it a doorbell, and the table stays the one source of truth.
 * - Each instance holds one LISTEN (DatabaseHandle.listen) and reads each announced event once,
 *   with its payment, in one query per batch of notifications, then fans it out in process.
 * - Nothing is missed: after the LISTEN connection comes back (postgres.js reconnects and calls
 *   `onListen` again), and also every `catchUpIntervalMs` as a safety net, the bus reads
 *   payment_events past the highest id it has seen. It looks back a little below that id, because
 *   identity values are taken before commit and a later id can commit first; a bounded set of
 *   delivered ids keeps every event delivered once.
 */
import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { paymentEvents, payments } from '../db/schema.js';
import type { Logger } from '../log.js';
import { InProcessBus, type PaymentBus, type PaymentChange, type PaymentChangeListener } from './bus.js';

/** The channel the ledger notifies on (ledger.ts PAYMENT_STATUS_CHANNEL), inside the transaction that appends a payment event. */
export const PAYMENT_EVENTS_CHANNEL = 'payment_status';

/** What the bus needs of the database handle: LISTEN, and a hook for each (re)connection. */
export interface ListenSource {
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onListen?: () => void,
  ): Promise<{ close(): Promise<void> }>;
}

export type NotificationOutcome = 'delivered' | 'duplicate' | 'missing' | 'malformed' | 'error';

export interface PostgresBusOptions {
  db: Database;
  listener: ListenSource;
  channel?: string;
  log?: Logger;
  /** Safety-net catch-up period; 0 turns it off. Default 5000 ms. */
  catchUpIntervalMs?: number;
  /** Called once per notification handled (metrics). */
  onNotification?: (outcome: NotificationOutcome) => void;
}

/** How far below the highest seen id a catch-up looks for late-committing events. */
const LOOKBACK = 200;
/** How many delivered ids are remembered to refuse a second delivery. */
const REMEMBERED = 8192;
/** The most events one catch-up reads; a longer gap is read in several rounds. */
const CATCH_UP_BATCH = 1000;

type Announcement = { id: number } | { merOrderId: string; version: number };

/** Accepts `123`, `{"id":123}`, `{"eventId":123}` or `{"merOrderId":"…","version":2}`. */
export function parseAnnouncement(payload: string): Announcement | undefined {
  const text = payload.trim();
  if (/^\d+$/.test(text)) return { id: Number(text) };
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const id = value.id ?? value.eventId;
    if (typeof id === 'number' || (typeof id === 'string' && /^\d+$/.test(id))) return { id: Number(id) };
    if (typeof value.merOrderId === 'string' && Number.isInteger(value.version)) {
      return { merOrderId: value.merOrderId, version: value.version as number };
    }
  } catch {
    // fall through
  }
  return undefined;
}

export class PostgresBus implements PaymentBus {
  readonly #local: InProcessBus;
  readonly #db: Database;
  readonly #log: Logger | undefined;
  readonly #onNotification: (outcome: NotificationOutcome) => void;
  #subscription: { close(): Promise<void> } | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Events at or below this id happened before the bus started: never delivered. */
  #floorId = 0;
  #highestId = 0;
  readonly #delivered = new Set<number>();
  readonly #deliveredOrder: number[] = [];
  #queue: Announcement[] = [];
  #draining: Promise<void> | undefined;
  #listens = 0;
  #catchingUp: Promise<void> | undefined;
  #closed = false;

  private constructor(options: PostgresBusOptions) {
    this.#db = options.db;
    this.#log = options.log;
    this.#onNotification = options.onNotification ?? (() => {});
    this.#local = new InProcessBus((err) => this.#log?.error({ err }, 'payment change listener failed'));
  }

  /** Reads where history stands, then LISTENs; changes committed from then on are delivered. */
  static async start(options: PostgresBusOptions): Promise<PostgresBus> {
    const bus = new PostgresBus(options);
    const [row] = await options.db.select({ max: sql<string | number | null>`max(${paymentEvents.id})` }).from(paymentEvents);
    bus.#floorId = Number(row?.max ?? 0);
    bus.#highestId = bus.#floorId;
    bus.#subscription = await options.listener.listen(
      options.channel ?? PAYMENT_EVENTS_CHANNEL,
      (payload) => bus.#announce(payload),
      () => bus.#listening(),
    );
    const every = options.catchUpIntervalMs ?? 5000;
    if (every > 0) {
      bus.#timer = setInterval(() => void bus.catchUp().catch((err: unknown) => bus.#log?.warn({ err }, 'payment event catch-up failed')), every);
      bus.#timer.unref();
    }
    return bus;
  }

  get listenerCount(): number {
    return this.#local.listenerCount;
  }

  subscribe(listener: PaymentChangeListener): () => void {
    return this.#local.subscribe(listener);
  }

  /** Delivers committed events this instance has not delivered yet (after a reconnect, on a timer). */
  catchUp(): Promise<void> {
    // One round at a time: a slow database must not pile up overlapping catch-ups.
    this.#catchingUp ??= this.#catchUpRounds().finally(() => {
      this.#catchingUp = undefined;
    });
    return this.#catchingUp;
  }

  async #catchUpRounds(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      const from = Math.max(this.#floorId, this.#highestId - LOOKBACK);
      const rows = await this.#db
        .select({ event: paymentEvents, payment: payments })
        .from(paymentEvents)
        .innerJoin(payments, eq(payments.merOrderId, paymentEvents.merOrderId))
        .where(gt(paymentEvents.id, from))
        .orderBy(asc(paymentEvents.id))
        .limit(CATCH_UP_BATCH);
      const before = this.#highestId;
      for (const change of rows) this.#deliver(change, 'catch-up');
      if (rows.length < CATCH_UP_BATCH || this.#highestId === before) return;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#local.close();
    await this.#subscription?.close();
    await this.#draining;
    await this.#catchingUp?.catch(() => {});
  }

  /** Called by the driver each time the LISTEN is (re)established; every one after the first is a reconnect. */
  #listening(): void {
    this.#listens += 1;
    if (this.#listens > 1) {
      this.#log?.info('payment events LISTEN re-established: catching up');
      void this.catchUp().catch((err: unknown) => this.#log?.warn({ err }, 'payment event catch-up failed'));
    }
  }

  #announce(payload: string): void {
    if (this.#closed) return;
    const announcement = parseAnnouncement(payload);
    if (!announcement) {
      this.#onNotification('malformed');
      this.#log?.warn('ignored a malformed payment event notification');
      return;
    }
    this.#queue.push(announcement);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Reads every queued announcement in one query per round, in id order. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const batch = this.#queue;
      this.#queue = [];
      const ids = batch.flatMap((a) => ('id' in a ? [a.id] : []));
      const keyed = batch.flatMap((a) => ('merOrderId' in a ? [a] : []));
      try {
        const rows: PaymentChange[] = [];
        if (ids.length > 0) rows.push(...(await this.#read(inArray(paymentEvents.id, ids))));
        for (const { merOrderId, version } of keyed) {
          rows.push(...(await this.#read(and(eq(paymentEvents.merOrderId, merOrderId), eq(paymentEvents.version, version)))));
        }
        rows.sort((a, b) => a.event.id - b.event.id);
        for (const change of rows) this.#deliver(change, 'notify');
        for (let i = rows.length; i < batch.length; i++) this.#onNotification('missing');
      } catch (err) {
        // The catch-up will find these events; the bus keeps running.
        for (let i = 0; i < batch.length; i++) this.#onNotification('error');
        this.#log?.warn({ err }, 'could not read announced payment events; the catch-up will retry');
      }
    }
  }

  #read(where: ReturnType<typeof eq> | undefined): Promise<PaymentChange[]> {
    return this.#db
      .select({ event: paymentEvents, payment: payments })
      .from(paymentEvents)
      .innerJoin(payments, eq(payments.merOrderId, paymentEvents.merOrderId))
      .where(where)
      .orderBy(asc(paymentEvents.id));
  }

  #deliver(change: PaymentChange, via: 'notify' | 'catch-up'): void {
    const id = change.event.id;
    if (id <= this.#floorId || this.#delivered.has(id)) {
      if (via === 'notify') this.#onNotification('duplicate');
      return;
    }
    this.#delivered.add(id);
    this.#deliveredOrder.push(id);
    if (this.#deliveredOrder.length > REMEMBERED) this.#delivered.delete(this.#deliveredOrder.shift() as number);
    if (id > this.#highestId) this.#highestId = id;
    if (via === 'notify') this.#onNotification('delivered');
    this.#local.publish(change);
  }
}
