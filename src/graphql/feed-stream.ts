/**
 * A subscriber's stream that resumes: `paymentStatusChanged(after: cursor)`. Everything it emits
 * is read from the event feed (src/events/feed.ts), in feed order, after the cursor: first what
 * was missed, then each new change as the bus announces it. Since replay and live are one read
 * loop over one ordered log, there is no seam to fall through: no gap, no duplicate, and every
 * emitted `cursor` is an exact place to resume from.
 *
 * The bus is only a doorbell here. An announced change the feed does not serve yet (an older
 * transaction is still in flight, so the horizon has not passed it) is looked for again shortly,
 * until served. A consumer that does not pull is not read ahead for: the feed is durable, so
 * nothing is buffered beyond one page and nothing is dropped.
 */
import type { Database } from '../db/database.js';
import type { PaymentRow } from '../db/schema.js';
import type { PaymentBus } from '../events/bus.js';
import { encodeFeedCursor, isAfter, positionOf, readFeed, type FeedPosition } from '../events/feed.js';
import type { StatusChangeValue } from './change-stream.js';

export interface FeedStreamOptions {
  db: Database;
  bus: PaymentBus;
  after: FeedPosition;
  merOrderId?: string;
  mid?: string;
  /** The only merchant whose events the caller may see (undefined: all). */
  merchantId?: string;
  findPayment: (merOrderId: string) => Promise<PaymentRow | undefined>;
  /** How soon to look again for an announced change the feed does not serve yet (default 100 ms). */
  retryMs?: number;
  onError?: (err: unknown) => void;
  onOpen?: () => void;
  onClose?: () => void;
}

const PAGE = 100;

export function feedStream(options: FeedStreamOptions): AsyncIterableIterator<StatusChangeValue> {
  const retryMs = options.retryMs ?? 100;
  let cursor = options.after;
  const buffered: StatusChangeValue[] = [];
  const waiting: { resolve: (r: IteratorResult<StatusChangeValue>) => void; reject: (e: unknown) => void }[] = [];
  let done = false;
  let failure: unknown;
  let reading: Promise<void> | undefined;
  let readAgain = true;
  /** The furthest announced change not yet served: look again until the feed passes it. */
  let announced: FeedPosition | undefined;
  let retry: NodeJS.Timeout | undefined;

  const unsubscribe = options.bus.subscribe(({ event }) => {
    if (options.merOrderId !== undefined && event.merOrderId !== options.merOrderId) return;
    if (options.merchantId !== undefined && event.merchantId !== options.merchantId) return;
    const at = positionOf(event);
    if (!isAfter(at, cursor)) return;
    if (!announced || isAfter(at, announced)) announced = at;
    pump();
  });
  options.onOpen?.();

  function emit(value: StatusChangeValue): void {
    const next = waiting.shift();
    if (next) next.resolve({ value, done: false });
    else buffered.push(value);
  }

  function finish(): void {
    if (done) return;
    done = true;
    clearTimeout(retry);
    unsubscribe();
    options.onClose?.();
    for (const waiter of waiting.splice(0)) {
      if (failure !== undefined) waiter.reject(failure);
      else waiter.resolve({ value: undefined, done: true });
    }
  }

  function pump(): void {
    readAgain = true;
    if (reading || done) return;
    reading = (async () => {
      // Bounded work per pump, whatever was emitted: at most one page read ahead of a consumer
      // that is not waiting. More is read only when the consumer pulls (next() pumps again).
      let read = 0;
      while (readAgain && !done && buffered.length < PAGE && (read < PAGE || waiting.length > 0)) {
        readAgain = false;
        const page = await readFeed(options.db, {
          after: cursor,
          first: PAGE,
          ...(options.merOrderId !== undefined ? { merOrderId: options.merOrderId } : {}),
          ...(options.merchantId !== undefined ? { merchantId: options.merchantId } : {}),
          ...(options.mid !== undefined ? { mid: options.mid } : {}),
        });
        read += page.events.length;
        // One read per payment in a page, not per event.
        const found = new Map<string, Promise<PaymentRow | undefined>>();
        for (const event of page.events) {
          cursor = positionOf(event);
          let lookup = found.get(event.merOrderId);
          if (!lookup) found.set(event.merOrderId, (lookup = options.findPayment(event.merOrderId)));
          const payment = await lookup;
          if (!payment || (options.mid !== undefined && payment.mid !== options.mid)) continue;
          emit({
            payment,
            version: event.version,
            previousStatus: event.previousStatus,
            status: event.status,
            source: event.source,
            at: event.at,
            cursor: encodeFeedCursor(cursor),
          });
        }
        if (page.hasMore) readAgain = true;
        // Let other work run between pages.
        if (readAgain) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // Stopped at a bound with more to read: the consumer's next pull reads on (and finds the
      // announced change), so no timer reads ahead for it.
      if (readAgain) return;
      if (announced && !isAfter(cursor, announced) && !(cursor.txId === announced.txId && cursor.id === announced.id)) {
        clearTimeout(retry);
        retry = setTimeout(pump, retryMs);
      } else announced = undefined;
    })()
      .catch((err: unknown) => {
        options.onError?.(err);
        failure = err;
        finish();
      })
      .finally(() => {
        reading = undefined;
        // Someone began waiting as this read ended at its bound: read on for them.
        if (readAgain && waiting.length > 0 && !done) pump();
      });
  }

  pump();

  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next(): Promise<IteratorResult<StatusChangeValue>> {
      const item = buffered.shift();
      if (item) {
        // Room again: read on if the feed had more than a page.
        if (buffered.length === 0 && readAgain) pump();
        return Promise.resolve({ value: item, done: false });
      }
      if (done) return failure !== undefined ? Promise.reject(failure) : Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        // A pump that stopped at its bound with more to read goes on now that someone waits.
        if (readAgain) pump();
      });
    },
    return(): Promise<IteratorResult<StatusChangeValue>> {
      buffered.length = 0;
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}
