/**
 * One subscriber's stream of payment changes: an AsyncIterator fed by the bus.
 *
 * It subscribes to the bus before reading the current state, so no change can fall between the
 * two; changes at or below the version already emitted are skipped. A consumer that falls more
 * than `maxBuffered` changes behind is ended with an error rather than growing memory without
 * bound: it resubscribes and gets the current state first.
 */
import { GraphQLError } from 'graphql';
import type { PaymentBus, PaymentChange } from '../events/bus.js';
import { encodeFeedCursor, positionOf } from '../events/feed.js';

/** The error a subscriber gets when it fell too far behind (pulled or pushed, ws-frames.ts). */
export function subscriberTooSlow(): GraphQLError {
  return new GraphQLError('This subscriber fell too far behind; subscribe again', { extensions: { code: 'SUBSCRIBER_TOO_SLOW' } });
}

export interface StatusChangeValue {
  /** As read when the change was delivered: may already be past `version` (a later change follows). */
  payment: PaymentChange['payment'];
  /** The payment's version after this change. */
  version: number;
  previousStatus: string | null;
  status: string;
  source: string;
  at: Date;
  /**
   * The change's place in the event feed (src/events/feed.ts). Exact for a stream started with
   * `after` (feed-stream.ts); for a live change it is the event's own place.
   */
  cursor: string;
}

export interface ChangeStreamOptions {
  bus: PaymentBus;
  accept: (change: PaymentChange) => boolean;
  /** The current state to emit first (undefined: none), read after subscribing. */
  initial?: () => Promise<StatusChangeValue | undefined>;
  maxBuffered?: number;
  /** Why `initial` failed (the subscriber only sees a generic error): for the log. */
  onInitialError?: (err: unknown) => void;
  onOpen?: () => void;
  onClose?: () => void;
}

/**
 * A stream that can also push: once `pushTo` is called, every value (those buffered first) goes
 * to the handler synchronously as it arrives instead of waiting for `next()`, and `next()` settles
 * only when the stream ends (done, or rejected with the reason it failed). The WebSocket's fan-out
 * uses it (shared-execution.ts) to write one pre-encoded result to many sockets without a promise
 * chain per subscriber and change.
 */
export interface PushableStream<T> extends AsyncIterableIterator<T> {
  pushTo(handler: (value: T) => void): void;
  /** How many values a consumer may have waiting before it is ended as too slow; pushed consumers queue too. */
  readonly maxBuffered: number;
  /** Ends the stream with `error`: the pending `next()` rejects with it. */
  fail(error: unknown): void;
}

export function isPushable<T>(value: AsyncIterator<T>): value is PushableStream<T> {
  return typeof (value as Partial<PushableStream<T>>).pushTo === 'function';
}

// A memo keyed on each change object, not long-lived state: an entry goes with its change.
const statusChanges = new WeakMap<PaymentChange, StatusChangeValue>();

/**
 * The subscribers' view of a change: one object per change, whoever asks, so that subscribers
 * asking the same thing can share its execution (shared-execution.ts).
 */
export function toStatusChange(change: PaymentChange): StatusChangeValue {
  let value = statusChanges.get(change);
  if (!value) {
    value = {
      payment: change.payment,
      version: change.event.version,
      previousStatus: change.event.previousStatus,
      status: change.event.status,
      source: change.event.source,
      at: change.event.at,
      cursor: encodeFeedCursor(positionOf(change.event)),
    };
    statusChanges.set(change, value);
  }
  return value;
}

export function changeStream(options: ChangeStreamOptions): PushableStream<StatusChangeValue> {
  const maxBuffered = options.maxBuffered ?? 1000;
  const buffered: StatusChangeValue[] = [];
  const waiting: { resolve: (result: IteratorResult<StatusChangeValue>) => void; reject: (err: unknown) => void }[] = [];
  let failure: unknown;
  let push: ((value: StatusChangeValue) => void) | undefined;
  let done = false;
  /** The state emitted first: changes of that order at or below its version are not news. */
  let floor: { merOrderId: string; version: number } | undefined;
  let ready = options.initial === undefined;
  const early: PaymentChange[] = [];

  const enqueue = (merOrderId: string, version: number, value: StatusChangeValue): void => {
    if (done || (floor && floor.merOrderId === merOrderId && version <= floor.version)) return;
    if (push) return push(value);
    const next = waiting.shift();
    if (next) return next.resolve({ value, done: false });
    if (buffered.length >= maxBuffered) return fellBehind();
    buffered.push(value);
  };

  function fellBehind(): void {
    failure = subscriberTooSlow();
    finish();
  }

  const unsubscribe = options.bus.subscribe((change) => {
    if (done || !options.accept(change)) return;
    if (!ready) {
      // Bounded as `buffered` is: the first-state read may take long.
      if (early.length >= maxBuffered) return fellBehind();
      early.push(change);
    } else enqueue(change.event.merOrderId, change.event.version, toStatusChange(change));
  });
  options.onOpen?.();

  function finish(): void {
    if (done) return;
    done = true;
    unsubscribe();
    options.onClose?.();
    for (const waiter of waiting.splice(0)) {
      if (failure) {
        waiter.reject(failure);
        failure = undefined;
      } else waiter.resolve({ value: undefined, done: true });
    }
  }

  if (options.initial) {
    options
      .initial()
      .then((first) => {
        if (!first) return;
        enqueue(first.payment.merOrderId, first.payment.version, first);
        floor = { merOrderId: first.payment.merOrderId, version: first.payment.version };
      })
      .catch((err: unknown) => {
        options.onInitialError?.(err);
        failure = new GraphQLError('Could not read the current state of the payment', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
        finish();
      })
      .finally(() => {
        ready = true;
        for (const change of early.splice(0)) enqueue(change.event.merOrderId, change.event.version, toStatusChange(change));
      });
  }

  return {
    maxBuffered,
    [Symbol.asyncIterator]() {
      return this;
    },
    next(): Promise<IteratorResult<StatusChangeValue>> {
      const item = buffered.shift();
      if (item) return Promise.resolve({ value: item, done: false });
      if (failure) {
        const err = failure;
        failure = undefined;
        return Promise.reject(err);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return(): Promise<IteratorResult<StatusChangeValue>> {
      buffered.length = 0;
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    pushTo(handler) {
      push = handler;
      for (const value of buffered.splice(0)) if (!done) handler(value);
    },
    fail(error) {
      if (done) return;
      failure = error;
      finish();
    },
  };
}
