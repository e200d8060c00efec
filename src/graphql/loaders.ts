/**
 * Per-operation DataLoaders: `events` and `refunds` asked for by the payments of one page are
 * gathered and read in one query each, not one per payment.
 *
 * One set per operation (context.ts), and no cache: a subscription's context lives as long as
 * the subscription, and each change must read the payment's events as they are then. Batches are
 * dispatched on setImmediate, after the promise jobs of the current level have run, so resolvers
 * of every item of a list have called load() by then.
 */
import DataLoader from 'dataloader';
import type { PaymentEventRow, RefundRow } from '../db/schema.js';
import type { PaymentReads } from './data.js';

export interface Loaders {
  events: DataLoader<string, PaymentEventRow[]>;
  refunds: DataLoader<string, RefundRow[]>;
}

const OPTIONS = { cache: false, batchScheduleFn: (dispatch: () => void) => setImmediate(dispatch) } as const;

function byKey<V>(read: (ids: readonly string[]) => Promise<ReadonlyMap<string, V[]>>): (ids: readonly string[]) => Promise<V[][]> {
  return async (ids) => {
    const found = await read(ids);
    return ids.map((id) => found.get(id) ?? []);
  };
}

export function createLoaders(reads: PaymentReads): Loaders {
  return {
    events: new DataLoader(byKey((ids) => reads.eventsByOrder(ids)), OPTIONS),
    refunds: new DataLoader(byKey((ids) => reads.refundsByOrder(ids)), OPTIONS),
  };
}
