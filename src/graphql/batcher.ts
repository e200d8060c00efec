/**
 * A tiny DataLoader: calls to `load(key)` made while GraphQL resolves one level of a response are
 * gathered and answered by one `loadMany(keys)`. A page of payments asking for `events` and
 * `refunds` thus costs one query each, not one per payment. One batcher per request, so nothing is
 * cached across requests or callers.
 */
export type BatchLoad<K, V> = (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;

export function createBatcher<K, V>(loadMany: BatchLoad<K, V>, missing: () => V): (key: K) => Promise<V> {
  let pending: Map<K, { resolve: (v: V) => void; reject: (e: unknown) => void }[]> | undefined;

  const flush = async (batch: NonNullable<typeof pending>): Promise<void> => {
    try {
      const found = await loadMany([...batch.keys()]);
      for (const [key, waiters] of batch) {
        const value = found.has(key) ? (found.get(key) as V) : missing();
        for (const waiter of waiters) waiter.resolve(value);
      }
    } catch (err) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(err);
    }
  };

  return (key) =>
    new Promise<V>((resolve, reject) => {
      if (!pending) {
        const batch = new Map<K, { resolve: (v: V) => void; reject: (e: unknown) => void }[]>();
        pending = batch;
        // After the promise jobs of the current level have run, like DataLoader: resolvers of
        // sibling list items have all called load() by then.
        setImmediate(() => {
          pending = undefined;
          void flush(batch);
        });
      }
      const waiters = pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else pending.set(key, [{ resolve, reject }]);
    });
}
