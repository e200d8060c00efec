/**
 * Subscriptions that execute once per change for all subscribers who asked the same thing, and
 * (over the WebSocket) encode that result once too.
 *
 * graphql-js executes a subscription's selection set once per subscriber per event; a merchant
 * dashboard open in 1,000 tabs would run the same execution 1,000 times for every payment change
 * (bench/README.md, "Fan-out"). Here each subscriber still has its own source stream (its own
 * filter, its own first state), but the result for one event is computed once per
 * (event, document, operation name, variables, caller's rights) and shared: the bus hands every
 * subscriber the same event object (change-stream.ts), and a WeakMap keyed on it forgets the
 * results with the event.
 *
 * Sharing is only safe when nothing but those inputs decides the result. The caller's rights
 * are in the key (auth.ts rightsKey: all the auth checker reads). Nested fields such as
 * `payment { events }` are read through the loaders of whichever subscriber pulls the event
 * first; that is the same data for everyone, since loaders keep nothing between operations.
 * Two consequences: a subscriber that is far behind gets nested data read when the first one
 * pulled the event, and a buffered event keeps the results computed for it until every
 * subscriber has pulled it (at most change-stream.ts's maxBuffered events each).
 *
 * Push delivery (`SharedSubscription.pushTo`, used by websocket.ts): when the source can push
 * (change-stream.ts), each event's shared result is also encoded once, with the same `encode`
 * for the whole group, and handed to every subscriber's writer as that string, in the order the
 * subscriber's stream produced the events. Per subscriber and change that leaves a lookup and a
 * socket write, with no JSON encoding per subscriber. Not "no promise": the bus hands a change to
 * every subscriber before its shared execution (async resolvers) settles, so each subscriber
 * still waits on it with one `then`, and an execution that never settles holds the subscriber's
 * later results (bounded by maxBuffered, then SUBSCRIBER_TOO_SLOW). Sources that cannot push
 * (the `after` replay, feed-stream.ts) are pulled as graphql-ws always does.
 */
import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { isPushable, type PushableStream } from './change-stream.js';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** One event's result for one group of subscribers, and its encoding once someone asked for it. */
interface Shared {
  result: Result;
  /** The encoded result once known; undefined while the execution or the encoding is pending. */
  encoded?: string;
  /** Settles when `encoded` is set (or the execution failed). */
  ready?: Promise<void>;
  failure?: unknown;
}

/**
 * event → document → (operation, variables, rights) → result. A memo keyed on each event object,
 * not long-lived state: what it holds goes with the event, so it needs no owner in the composition.
 */
const shared = new WeakMap<object, WeakMap<DocumentNode, Map<string, Shared>>>();

function sharedFor(event: object, args: ExecutionArgs, key: string): Shared {
  let byDocument = shared.get(event);
  if (!byDocument) shared.set(event, (byDocument = new WeakMap()));
  let byKey = byDocument.get(args.document);
  if (!byKey) byDocument.set(args.document, (byKey = new Map()));
  let entry = byKey.get(key);
  if (!entry) byKey.set(key, (entry = { result: execute({ ...args, rootValue: event }) }));
  return entry;
}

/** Encodes `entry`'s result with `encode` once; `entry.encoded` is set now if the result is. */
function encodeOnce(entry: Shared, encode: (result: ExecutionResult) => string): void {
  if (entry.encoded !== undefined || entry.ready) return;
  const { result } = entry;
  // A failing encode is a failure like a failing execution: it ends the subscribers' streams
  // (pushTo's flush), never an exception out of the bus or an unhandled rejection.
  const encodeInto = (value: ExecutionResult): void => {
    try {
      entry.encoded = encode(value);
    } catch (err) {
      entry.failure = err ?? new Error('encoding failed');
    }
  };
  if (!(result instanceof Promise)) {
    encodeInto(result);
    return;
  }
  entry.ready = result.then(
    (value) => {
      encodeInto(value);
    },
    (err: unknown) => {
      entry.failure = err ?? new Error('execution failed');
    },
  );
}

/**
 * graphql-js's `subscribe`, with each event's execution shared. `rights` names what the caller
 * may see (e.g. its scopes); callers with equal rights share results.
 */
export async function subscribeSharingResults(args: ExecutionArgs, rights: string): Promise<SharedSubscription | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source;
  const key = JSON.stringify([rights, args.operationName ?? null, args.variableValues ?? null]);
  return new SharedSubscription(source[Symbol.asyncIterator](), args, key);
}

/**
 * A subscriber's stream of shared results. Pulled (`next`), it maps each event as graphql-js's
 * mapAsyncIterator does: a failing map ends the source. Pushed (`pushTo`), see the file's comment.
 */
export class SharedSubscription implements AsyncIterableIterator<ExecutionResult> {
  readonly #source: AsyncIterator<unknown>;
  readonly #args: ExecutionArgs;
  readonly #key: string;
  /**
   * Set when the stream ends (return(), or pushTo's stop): from then on nothing is written, not
   * even a result still executing, since graphql-ws lets the client reuse the operation's id.
   */
  #closed = false;
  /** Drops the pushed results still waiting (set by pushTo). */
  #discard: (() => void) | undefined;

  constructor(source: AsyncIterator<unknown>, args: ExecutionArgs, key: string) {
    this.#source = source;
    this.#args = args;
    this.#key = key;
  }

  #map(event: unknown): Result {
    if (typeof event !== 'object' || event === null) return execute({ ...this.#args, rootValue: event });
    return sharedFor(event, this.#args, this.#key).result;
  }

  /**
   * Hands every result from now on to `write`, encoded by `encode` (once per group and event), in
   * order; `write` returning false (the subscriber cannot keep up) ends the stream with
   * `tooSlow()`. False when the source cannot push: then nothing changed and the caller pulls.
   */
  pushTo(write: (encoded: string) => boolean, encode: (result: ExecutionResult) => string, tooSlow: () => unknown): boolean {
    const source = this.#source;
    if (!isPushable(source)) return false;
    // Results whose turn has come but whose execution is still running, oldest first: written as
    // soon as the head's is known.
    const waiting: Shared[] = [];
    this.#discard = () => {
      waiting.length = 0;
    };
    const stop = (source: PushableStream<unknown>, error: unknown) => {
      this.#closed = true;
      waiting.length = 0;
      source.fail(error);
    };
    const flush = (): void => {
      while (!this.#closed && waiting.length > 0) {
        const head = waiting[0] as Shared;
        if (head.failure !== undefined) return stop(source, head.failure);
        if (head.encoded === undefined) {
          void head.ready?.then(flush);
          return;
        }
        waiting.shift();
        if (!write(head.encoded)) return stop(source, tooSlow());
      }
    };
    source.pushTo((event) => {
      if (this.#closed) return;
      const entry =
        typeof event === 'object' && event !== null ? sharedFor(event, this.#args, this.#key) : { result: execute({ ...this.#args, rootValue: event }) };
      encodeOnce(entry, encode);
      if (waiting.length === 0 && entry.encoded !== undefined) {
        if (!write(entry.encoded)) stop(source, tooSlow());
        return;
      }
      waiting.push(entry);
      // Pull mode's bound (change-stream.ts maxBuffered) holds here too: results queued behind a
      // pending execution are a subscriber falling behind.
      if (waiting.length > source.maxBuffered) return stop(source, tooSlow());
      if (waiting.length === 1) flush();
    });
    return true;
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const step = await this.#source.next();
    if (step.done) return { value: undefined, done: true };
    try {
      return { value: await this.#map(step.value), done: false };
    } catch (err) {
      // The original error is the one to report, not a failure to close.
      await this.#source.return?.().catch(() => undefined);
      throw err;
    }
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.#closed = true;
    this.#discard?.();
    await this.#source.return?.();
    return { value: undefined, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<ExecutionResult>> {
    if (!this.#source.throw) throw err;
    const step = await this.#source.throw(err);
    return step.done ? { value: undefined, done: true } : { value: await this.#map(step.value), done: false };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
