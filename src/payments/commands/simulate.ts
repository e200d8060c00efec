/**
 * simulatePayment (simulator mode only): the simulator's buyer pays or the order closes, the
 * simulator notifies the gateway as UMS would, and the answer is the payment once that
 * notification is stored (source NOTIFY). The wait listens to the event bus, which hears every
 * committed change on any instance; if nothing comes in time (or no bus was given), UMS is asked,
 * as the scheduler would, and its answer stored with source SYNC.
 */
import type { PaymentRow } from '../../db/schema.js';
import type { CommandOptions, SimulatedOutcome } from '../commands-api.js';
import { PaymentError, badInput } from '../errors.js';
import { loadPayment, type CommandDeps, type PaymentChanges } from './deps.js';
import { syncPayment } from './sync.js';

export async function simulatePayment(deps: CommandDeps, merOrderId: string, outcome: SimulatedOutcome, opts: CommandOptions = {}): Promise<PaymentRow> {
  const simulator = deps.simulator;
  if (!simulator) throw new PaymentError('CONFLICT', 'simulatePayment is only available in simulator mode');
  if (outcome !== 'TRADE_SUCCESS' && outcome !== 'TRADE_CLOSED') {
    throw badInput('outcome', 'outcome must be TRADE_SUCCESS or TRADE_CLOSED');
  }
  // Listen before reading and before the simulator acts, so the change cannot slip past.
  const change = deps.changes ? statusChange(deps.changes, merOrderId) : undefined;
  try {
    const before = await loadPayment(deps, merOrderId, opts.merchantId);
    change?.from(before);
    try {
      await simulator.pay(merOrderId, { outcome, notify: true });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new PaymentError('CONFLICT', `the simulator refused: ${message}`, { merOrderId });
    }
    const notified = change ? await change.within(deps.simulateWaitMs) : undefined;
    if (notified) return notified;
    return await syncPayment(deps, await loadPayment(deps, merOrderId), 'SYNC', opts.actor);
  } finally {
    change?.stop();
  }
}

interface StatusChange {
  /** The row as read before acting; changes heard before this is set are kept and checked then. */
  from(before: PaymentRow): void;
  /** The payment once its status differs from `from`, or undefined after `ms`. */
  within(ms: number): Promise<PaymentRow | undefined>;
  stop(): void;
}

function statusChange(changes: PaymentChanges, merOrderId: string): StatusChange {
  let before: PaymentRow | undefined;
  let latest: PaymentRow | undefined;
  let settle: ((row: PaymentRow | undefined) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const moved = () =>
    latest !== undefined && before !== undefined && latest.version > before.version && latest.status !== before.status ? latest : undefined;
  const unsubscribe = changes.subscribe(({ payment }) => {
    if (payment.merOrderId !== merOrderId) return;
    // Changes may be heard out of order across instances: keep the newest version.
    if (latest === undefined || payment.version >= latest.version) latest = payment;
    const row = moved();
    if (row && settle) settle(row);
  });
  return {
    from(row) {
      before = row;
    },
    within(ms) {
      const row = moved();
      if (row) return Promise.resolve(row);
      return new Promise((resolve) => {
        settle = resolve;
        timer = setTimeout(() => resolve(undefined), ms);
      });
    },
    stop() {
      unsubscribe();
      if (timer) clearTimeout(timer);
    },
  };
}
