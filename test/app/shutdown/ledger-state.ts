/**
 * The ledger before and after the burst: orders created beforehand (NEW_ORDER, as the gateway
 * stores them before calling UMS), and afterwards what happened to each, read straight from the
 * tables so that a half-written change (a payment without its event, an event without its
 * notification) shows.
 */
import { asc } from 'drizzle-orm';
import { DEMO } from '../../../src/config.js';
import type { Database } from '../../../src/db/database.js';
import { notifications, paymentEvents, payments } from '../../../src/db/schema.js';
import { insertNewOrder } from '../../../src/payments/ledger.js';

/** Creates the orders the notifications will pay (100 fen each, demo merchant). */
export async function seedOrders(db: Database, merOrderIds: readonly string[]): Promise<void> {
  for (const merOrderId of merOrderIds) {
    await insertNewOrder(db, { merOrderId, totalAmount: 100, mid: DEMO.mid, tid: DEMO.tid, channel: 'WECHAT_MINI' });
  }
}

export interface OrderState {
  status: string | undefined;
  version: number | undefined;
  /** Event versions in order, e.g. [1, 2]. */
  eventVersions: number[];
  events: { id: number; version: number; status: string; source: string }[];
  notifications: { notifyId: string | null; outcome: string; paymentEventId: number | null; dedupeKey: string | null }[];
}

export interface LedgerState {
  byOrder: Map<string, OrderState>;
  /** Payments whose events are not exactly versions 1..version (over the whole table). */
  halfWritten: string[];
}

/** Reads every payment, event and notification (the database belongs to this test alone). */
export async function readLedger(db: Database): Promise<LedgerState> {
  const byOrder = new Map<string, OrderState>();
  const of = (merOrderId: string): OrderState => {
    let state = byOrder.get(merOrderId);
    if (!state) {
      state = { status: undefined, version: undefined, eventVersions: [], events: [], notifications: [] };
      byOrder.set(merOrderId, state);
    }
    return state;
  };

  for (const p of await db.select().from(payments)) {
    const state = of(p.merOrderId);
    state.status = p.status;
    state.version = p.version;
  }
  for (const e of await db.select().from(paymentEvents).orderBy(asc(paymentEvents.id))) {
    const state = of(e.merOrderId);
    state.eventVersions.push(e.version);
    state.events.push({ id: e.id, version: e.version, status: e.status, source: e.source });
  }
  for (const n of await db.select().from(notifications).orderBy(asc(notifications.id))) {
    of(n.merOrderId ?? '(none)').notifications.push({
      notifyId: n.notifyId,
      outcome: n.outcome,
      paymentEventId: n.paymentEventId,
      dedupeKey: n.dedupeKey,
    });
  }

  const halfWritten: string[] = [];
  for (const [merOrderId, state] of byOrder) {
    if (state.version === undefined) {
      if (state.events.length > 0) halfWritten.push(merOrderId);
      continue;
    }
    const expected = Array.from({ length: state.version }, (_, i) => i + 1);
    if (JSON.stringify([...state.eventVersions].sort((a, b) => a - b)) !== JSON.stringify(expected)) {
      halfWritten.push(merOrderId);
    }
  }
  return { byOrder, halfWritten };
}

/** What one notification left behind. */
export type Effect =
  /** Nothing: the order is as seeded (NEW_ORDER, version 1, its creation event, no notification). */
  | 'untouched'
  /** Fully applied: TRADE_SUCCESS v2, a NOTIFY event v2, one `applied` notification pointing at it. */
  | 'applied'
  /** Anything else: a partial or unexpected write. */
  | 'inconsistent';

export function effectOf(state: OrderState | undefined, notifyId: string): Effect {
  if (!state) return 'inconsistent';
  if (state.status === 'NEW_ORDER' && state.version === 1 && state.events.length === 1 && state.notifications.length === 0) {
    return 'untouched';
  }
  const [stored, ...others] = state.notifications;
  const event = state.events.find((e) => e.version === 2);
  if (
    state.status === 'TRADE_SUCCESS' &&
    state.version === 2 &&
    state.events.length === 2 &&
    event !== undefined &&
    event.status === 'TRADE_SUCCESS' &&
    event.source === 'NOTIFY' &&
    others.length === 0 &&
    stored !== undefined &&
    stored.notifyId === notifyId &&
    stored.outcome === 'applied' &&
    stored.dedupeKey !== null &&
    stored.paymentEventId === event.id
  ) {
    return 'applied';
  }
  return 'inconsistent';
}
