/**
 * Payment status changes, from whoever stored them to whoever watches them.
 *
 * Two implementations of one interface:
 * - `InProcessBus`: listeners in this process, fed by `publish` (tests, a single embedded
 *   instance, and the local fan-out core of the Postgres bus);
 * - `PostgresBus` (postgres-bus.ts): one LISTEN connection per gateway instance hears the
 *   `pg_notify` that the ledger sends inside each committing transaction, reads the committed rows
 *   once, and fans them out locally. Several instances on one database therefore all see every
 *   change, each exactly once.
 *
 * A change carries the committed rows (the event and the payment as they are now), so every
 * subscriber of an instance shares one read instead of querying per subscriber.
 */
import type { PaymentEventRow, PaymentRow } from '../db/schema.js';

export interface PaymentChange {
  readonly event: PaymentEventRow;
  readonly payment: PaymentRow;
}

export type PaymentChangeListener = (change: PaymentChange) => void;

export interface PaymentBus {
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: PaymentChangeListener): () => void;
  /**
   * Adds a doorbell: called (with nothing) soon after changes commit, for whoever only needs to
   * know that it should look (the webhook dispatcher reads the event feed itself). Unlike a
   * listener it costs the bus no read: with doorbells only, announced changes are not read at all.
   */
  onCommitted(doorbell: () => void): () => void;
  /** Stops listening; listeners hear nothing more. */
  close(): Promise<void>;
}

/** Listeners in this process. A throwing listener is isolated: the others still hear the change. */
export class InProcessBus implements PaymentBus {
  readonly #listeners = new Set<PaymentChangeListener>();
  readonly #doorbells = new Set<() => void>();
  #closed = false;

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  get listenerCount(): number {
    return this.#listeners.size;
  }

  publish(change: PaymentChange): void {
    if (this.#closed) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (err) {
        this.onListenerError(err);
      }
    }
    this.ring();
  }

  /** Rings the doorbells (the Postgres bus rings them for changes it does not read). */
  ring(): void {
    if (this.#closed) return;
    for (const doorbell of [...this.#doorbells]) {
      try {
        doorbell();
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  onCommitted(doorbell: () => void): () => void {
    const entry = (): void => doorbell();
    if (!this.#closed) this.#doorbells.add(entry);
    return () => {
      this.#doorbells.delete(entry);
    };
  }

  subscribe(listener: PaymentChangeListener): () => void {
    // A wrapper per call, so subscribing the same function twice gives two independent listeners.
    const entry: PaymentChangeListener = (change) => listener(change);
    if (!this.#closed) this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.#doorbells.clear();
  }
}
