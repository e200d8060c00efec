/**
 * How a request waiting on an Idempotency-Key hears that the request holding it has finished
 * (answered, failed, or released the key), instead of re-reading the key every few milliseconds.
 *
 * The holder announces each outcome twice: to waiters in this process directly, and with
 * `pg_notify` on IDEMPOTENCY_CHANNEL for waiters on other instances (those that were given a
 * LISTEN source). The payload is a hash of the operation and the key, never the key itself.
 * A waiter registers before it reads the key's row, so an answer stored between the read and
 * the wait still wakes it; a wake is only a hint to read again, and the waiter's deadline still
 * holds if a notification is lost.
 *
 * Why not an advisory lock held by the first request for its whole run: on PGlite every query
 * shares one session (advisory locks there are re-entrant, so nobody would wait) and an open
 * transaction holds up every other query, the holder's own included; on Postgres it would pin a
 * pooled connection per request in flight, and with as many keyed requests as the pool has
 * connections their own queries would wait for ever.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';

export const IDEMPOTENCY_CHANNEL = 'idempotency_answer';

/** What the signals need of the database handle (DatabaseHandle fits). */
export interface AnswerListenSource {
  listen(channel: string, onPayload: (payload: string) => void): Promise<{ close(): Promise<void> }>;
}

export interface AnswerWaiter {
  /** Resolves when the key's holder announces an outcome, or after `ms`. */
  wait(ms: number): Promise<void>;
  cancel(): void;
}

/** The token announced for (operation, key). */
export function answerToken(operation: string, key: string): string {
  return createHash('sha256').update(`${operation}\n${key}`, 'utf8').digest('hex').slice(0, 32);
}

export class AnswerSignals {
  readonly #db: Database;
  readonly #source: AnswerListenSource | undefined;
  readonly #waiters = new Map<string, Set<() => void>>();
  #listening: Promise<void> | undefined;
  #subscription: { close(): Promise<void> } | undefined;
  #closed = false;

  constructor(db: Database, source?: AnswerListenSource) {
    this.#db = db;
    this.#source = source;
  }

  /** Registers interest in `token`; call before reading the key's row. */
  async prepare(token: string): Promise<AnswerWaiter> {
    await this.#listen();
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    let set = this.#waiters.get(token);
    if (!set) this.#waiters.set(token, (set = new Set()));
    set.add(wake);
    const cancel = () => {
      set.delete(wake);
      if (set.size === 0 && this.#waiters.get(token) === set) this.#waiters.delete(token);
    };
    return {
      async wait(ms) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))));
        try {
          await Promise.race([woken, timeout]);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel,
    };
  }

  /** The holder of `token` has stored an outcome (or released the key): wake every waiter. */
  async announce(token: string): Promise<void> {
    this.#wake(token);
    // Other instances; a lost announcement only makes their waiters wait for their deadline.
    await this.#db.execute(sql`select pg_notify(${IDEMPOTENCY_CHANNEL}, ${token})`).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.close();
  }

  #wake(token: string): void {
    const set = this.#waiters.get(token);
    if (!set) return;
    this.#waiters.delete(token);
    for (const wake of set) wake();
  }

  #listen(): Promise<void> {
    if (!this.#source || this.#closed) return Promise.resolve();
    this.#listening ??= this.#source
      .listen(IDEMPOTENCY_CHANNEL, (payload) => this.#wake(payload.trim()))
      .then(async (subscription) => {
        if (this.#closed) await subscription.close();
        else this.#subscription = subscription;
      })
      // Without LISTEN, waiters on other instances fall back to their deadline; local wakes still work.
      .catch(() => undefined);
    return this.#listening;
  }
}
