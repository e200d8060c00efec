/**
 * The Postgres LISTEN/NOTIFY bus: how a change stored by any gateway instance reaches the
 * subscribers of every instance.
 *
 * - The ledger appends a payment_events row and, in the same transaction, `pg_notify`s its id on
 *   PAYMENT_CHANGE_CHANNEL (notice.ts owns the channel and the payload). Postgres delivers the notification only after the commit, so the row is
 *   there to be read. NOTIFY carries ids, not payloads: its 8000-byte cap and its lack of
 *   authorization make it a doorbell, and the table stays the one source of truth.
 * - Each instance holds one LISTEN (DatabaseHandle.listen) and reads each announced event once,
 *   with its payment, in one query per batch of notifications, then fans it out in process.
 * - Nothing is missed: after the LISTEN connection comes back (postgres.js reconnects and calls
 *   `onListen` again), and also every `catchUpIntervalMs` as a safety net, the bus reads
 *   payment_events past the highest id it has seen. It looks back a little below that id, because
 *   identity values are taken before commit and a later id can commit first; a bounded set of
 *   delivered ids keeps every event delivered once.
 * - An announced event whose read failed is remembered by id and read again by the next
 *   catch-up, however many later events were delivered meanwhile (the look-back alone would lose
 *   it once LOOKBACK newer events had been seen).
 * - At start the bus marks the events already committed near the top as known (not delivered)
 *   instead of ignoring everything up to max(id): an event whose id was taken before the start
 *   but which commits after it is delivered. Once LISTEN is up, one catch-up takes in what
 *   committed while it was being set up, so `start()` resolves with nothing pending.
 * - With no listener (only doorbells, e.g. the webhook dispatcher's, or nobody), announced and
 *   caught-up events are marked seen without being read: there is nobody to give the rows to.
 *   A listener added later loses nothing by it: those events committed before it subscribed, and
 *   a subscription reads its first state after subscribing (change-stream.ts).
 */
import { asc, eq, gt, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { paymentEvents, payments } from '../db/schema.js';
import { errorSummary } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { InProcessBus, type PaymentBus, type PaymentChange, type PaymentChangeListener } from './bus.js';
import { parseNotice, PAYMENT_CHANGE_CHANNEL } from './notice.js';

/** What the bus needs of the database handle: LISTEN, and a hook for each (re)connection. */
export interface ListenSource {
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onListen?: () => void,
  ): Promise<{ close(): Promise<void> }>;
}

/** `unwatched`: committed and announced, with no listener on this instance, so not read. */
export type NotificationOutcome = 'delivered' | 'unwatched' | 'duplicate' | 'missing' | 'malformed' | 'error';

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

export class PostgresBus implements PaymentBus {
  readonly #local: InProcessBus;
  readonly #db: Database;
  readonly #log: Logger | undefined;
  readonly #onNotification: (outcome: NotificationOutcome) => void;
  #subscription: { close(): Promise<void> } | undefined;
  #timer: NodeJS.Timeout | undefined;
  /**
   * Events at or below this id happened before the bus started: never delivered. It sits LOOKBACK
   * below the highest id committed at start; the committed ids above it are in #delivered.
   */
  #floorId = 0;
  #highestId = 0;
  readonly #delivered = new Set<number>();
  readonly #deliveredOrder: number[] = [];
  #queue: number[] = [];
  /** Announced ids whose read failed: the next catch-up reads them, whatever their age. */
  readonly #unreadIds = new Set<number>();
  #draining: Promise<void> | undefined;
  #listens = 0;
  #catchingUp: Promise<void> | undefined;
  #closed = false;
  /**
   * The announced events with their payments, by id: built once and prepared (named), since it
   * runs for every notification batch on every instance. Built per call, Drizzle spent more CPU
   * on the SQL than the fan-out's bookkeeping, and the unnamed statement took two round trips.
   * The ids go as one JSON parameter, so one statement serves any number of them. Built on first
   * use; a failure to build is a failed read like any other (retried by the catch-up).
   */
  #readByIds: ReturnType<PostgresBus['buildReadByIds']> | undefined;

  private constructor(options: PostgresBusOptions) {
    this.#db = options.db;
    this.#log = options.log;
    this.#onNotification = options.onNotification ?? (() => {});
    this.#local = new InProcessBus((err) => this.#log?.error({ err: errorSummary(err) }, 'payment change listener failed'));
  }

  /**
   * Reads where history stands, LISTENs, then catches up once on what committed meanwhile (to
   * nobody: there is no subscriber yet). Every change committed after it resolves is delivered,
   * including one whose id was taken before (a transaction in flight at start).
   */
  static async start(options: PostgresBusOptions): Promise<PostgresBus> {
    const bus = new PostgresBus(options);
    const [row] = await options.db.select({ max: sql<string | number | null>`max(${paymentEvents.id})` }).from(paymentEvents);
    const highest = Number(row?.max ?? 0);
    bus.#floorId = Math.max(0, highest - LOOKBACK);
    bus.#highestId = highest;
    // The ids in (floor, highest] that are committed already are history; the gaps among them may
    // be transactions still in flight, delivered when they commit.
    const known = await options.db.select({ id: paymentEvents.id }).from(paymentEvents).where(gt(paymentEvents.id, bus.#floorId));
    for (const { id } of known) bus.#remember(id);
    bus.#subscription = await options.listener.listen(
      options.channel ?? PAYMENT_CHANGE_CHANNEL,
      (payload) => bus.#announce(payload),
      () => bus.#listening(),
    );
    // What committed between the reads above and the LISTEN rang no bell here.
    await bus.catchUp().catch((err: unknown) => bus.#log?.warn({ err: errorSummary(err) }, 'payment event catch-up failed'));
    const every = options.catchUpIntervalMs ?? 5000;
    if (every > 0) {
      bus.#timer = setInterval(() => void bus.catchUp().catch((err: unknown) => bus.#log?.warn({ err: errorSummary(err) }, 'payment event catch-up failed')), every);
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

  onCommitted(doorbell: () => void): () => void {
    return this.#local.onCommitted(doorbell);
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
    await this.#readUnread();
    for (;;) {
      if (this.#closed) return;
      const from = Math.max(this.#floorId, this.#highestId - LOOKBACK);
      // Ids first: nearly always every one of them was delivered already, and reading (and
      // mapping) LOOKBACK full event and payment rows every few seconds on every instance was a
      // burst of CPU that landed in the middle of fan-outs. Only the undelivered are read whole.
      const known = await this.#db
        .select({ id: paymentEvents.id })
        .from(paymentEvents)
        .where(gt(paymentEvents.id, from))
        .orderBy(asc(paymentEvents.id))
        .limit(CATCH_UP_BATCH);
      const fresh = known.map(({ id }) => id).filter((id) => id > this.#floorId && !this.#delivered.has(id));
      const before = this.#highestId;
      if (fresh.length > 0 && this.#local.listenerCount === 0) this.#pass(fresh, 'catch-up');
      else if (fresh.length > 0) for (const change of await this.#read(fresh)) this.#deliver(change, 'catch-up');
      if (known.length < CATCH_UP_BATCH || this.#highestId === before) return;
    }
  }

  /** Reads the announced events whose first read failed; each is forgotten once read. */
  async #readUnread(): Promise<void> {
    while (this.#unreadIds.size > 0 && !this.#closed) {
      const ids = [...this.#unreadIds].slice(0, CATCH_UP_BATCH);
      const rows = await this.#read(ids);
      for (const change of rows) this.#deliver(change, 'catch-up');
      // An id with no row was announced by a transaction that committed it: it cannot vanish,
      // but if it did there is nothing to deliver, so it is not kept forever either.
      for (const id of ids) this.#unreadIds.delete(id);
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

  /**
   * Called by the driver each time the LISTEN is (re)established; every one after the first is a
   * reconnect. The first is covered by the catch-up that start() runs once listen() resolves.
   */
  #listening(): void {
    this.#listens += 1;
    if (this.#listens > 1) {
      this.#log?.info('payment events LISTEN re-established: catching up');
      void this.catchUp().catch((err: unknown) => this.#log?.warn({ err: errorSummary(err) }, 'payment event catch-up failed'));
    }
  }

  #announce(payload: string): void {
    if (this.#closed) return;
    const notice = parseNotice(payload);
    if (!notice) {
      this.#onNotification('malformed');
      this.#log?.warn('ignored a malformed payment event notification');
      return;
    }
    this.#queue.push(notice.eventId);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Reads every queued announcement in one query per round, in id order. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const ids = this.#queue;
      this.#queue = [];
      if (this.#local.listenerCount === 0) {
        this.#pass(ids, 'notify');
        continue;
      }
      try {
        const rows = await this.#read(ids);
        for (const change of rows) this.#deliver(change, 'notify');
        for (let i = rows.length; i < ids.length; i++) this.#onNotification('missing');
      } catch (err) {
        // The next catch-up reads these events by id, however old they are by then; the bus keeps running.
        for (const id of ids) this.#unreadIds.add(id);
        for (let i = 0; i < ids.length; i++) this.#onNotification('error');
        this.#log?.warn({ err: errorSummary(err) }, 'could not read announced payment events; the catch-up will retry');
      }
    }
  }

  /** Marks an id as delivered, forgetting the oldest beyond REMEMBERED. */
  #remember(id: number): void {
    this.#delivered.add(id);
    this.#deliveredOrder.push(id);
    if (this.#deliveredOrder.length > REMEMBERED) this.#delivered.delete(this.#deliveredOrder.shift() as number);
  }

  private buildReadByIds() {
    return this.#db
      .select({ event: paymentEvents, payment: payments })
      .from(paymentEvents)
      .innerJoin(payments, eq(payments.merOrderId, paymentEvents.merOrderId))
      .where(sql`${paymentEvents.id} = any(array(select jsonb_array_elements_text(${sql.placeholder('ids')}::jsonb)::bigint))`)
      .orderBy(asc(paymentEvents.id))
      .prepare('bus_read_events');
  }

  async #read(ids: readonly number[]): Promise<PaymentChange[]> {
    this.#readByIds ??= this.buildReadByIds();
    return this.#readByIds.execute({ ids: JSON.stringify(ids) });
  }

  /** Committed events nobody here listens to: marked seen, unread; the doorbells ring once. */
  #pass(ids: readonly number[], via: 'notify' | 'catch-up'): void {
    let fresh = false;
    for (const id of ids) if (this.#firstSight(id, via, 'unwatched')) fresh = true;
    if (fresh) this.#local.ring();
  }

  #deliver(change: PaymentChange, via: 'notify' | 'catch-up'): void {
    if (this.#firstSight(change.event.id, via, 'delivered')) this.#local.publish(change);
  }

  /** True the first time `id` is seen (now remembered); false for history or a repeat. */
  #firstSight(id: number, via: 'notify' | 'catch-up', outcome: 'delivered' | 'unwatched'): boolean {
    if (id <= this.#floorId || this.#delivered.has(id)) {
      if (via === 'notify') this.#onNotification('duplicate');
      return false;
    }
    this.#remember(id);
    if (id > this.#highestId) this.#highestId = id;
    if (via === 'notify') this.#onNotification(outcome);
    return true;
  }
}
