/**
 * Subscriptions that execute once per change for all subscribers who asked the same thing.
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
 */
import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * event → document → (operation, variables, rights) → result. A memo keyed on each event object,
 * not long-lived state: what it holds goes with the event, so it needs no owner in the composition.
 */
const shared = new WeakMap<object, WeakMap<DocumentNode, Map<string, Result>>>();

/**
 * graphql-js's `subscribe`, with each event's execution shared. `rights` names what the caller
 * may see (e.g. its scopes); callers with equal rights share results.
 */
export async function subscribeSharingResults(
  args: ExecutionArgs,
  rights: string,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source;
  const key = JSON.stringify([rights, args.operationName ?? null, args.variableValues ?? null]);
  return mapAsyncIterator(source[Symbol.asyncIterator](), (event) => {
    if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
    let byDocument = shared.get(event);
    if (!byDocument) shared.set(event, (byDocument = new WeakMap()));
    let byKey = byDocument.get(args.document);
    if (!byKey) byDocument.set(args.document, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = execute({ ...args, rootValue: event })));
    return result;
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Maps each value of `source` as graphql-js's mapAsyncIterator does: a failing map ends the source. */
function mapAsyncIterator<T, U>(source: AsyncIterator<T>, map: (value: T) => U | Promise<U>): AsyncIterableIterator<U> {
  return {
    async next(): Promise<IteratorResult<U>> {
      const step = await source.next();
      if (step.done) return { value: undefined, done: true };
      try {
        return { value: await map(step.value), done: false };
      } catch (err) {
        // The original error is the one to report, not a failure to close.
        await source.return?.().catch(() => undefined);
        throw err;
      }
    },
    async return(): Promise<IteratorResult<U>> {
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(err: unknown): Promise<IteratorResult<U>> {
      if (!source.throw) throw err;
      const step = await source.throw(err);
      return step.done ? { value: undefined, done: true } : { value: await map(step.value), done: false };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
