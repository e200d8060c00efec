/**
 * The simulator's moving parts in one place: the order store, the notifier and the scenario book,
 * and the moves that involve more than one of them (a payment that notifies, a refund that
 * notifies, a notification shaped by scenarios). API handlers, control endpoints and the cashier
 * page all act through this.
 */
import type { Logger } from 'pino';
import { notificationFields } from './messages.js';
import type { Delivery, Notifier } from './notifier.js';
import type { ScenarioBook } from './scenarios.js';
import type { OrderStore } from './store.js';
import type { SimMerchants } from './merchants.js';
import type { OrderStatus, PayOutcome, RefundRecord, SimCredentials, SimOrder } from './types.js';

/** A control request that cannot be done; `httpStatus` is what `/_sim/…` answers. */
export class ControlError extends Error {
  override name = 'ControlError';
  constructor(
    readonly httpStatus: 404 | 409 | 400,
    message: string,
  ) {
    super(message);
  }
}

export interface PayOptions {
  outcome?: PayOutcome;
  notify?: boolean;
  /** Fen the buyer paid, when UMS is to record another amount than the order's (a mismatch on purpose). */
  amount?: number;
  /** Fen of a campaign discount on a successful payment (couponAmount, yxlmAmount…); default none. */
  discount?: number;
}

export class SimEngine {
  readonly #timers = new Set<NodeJS.Timeout>();
  /** The merchant of the request being handled (asMerchant); the first merchant otherwise. */
  #current: SimCredentials | undefined;

  /** Base URL of the simulator, known once it listens (the cashier and QR links point at it). */
  baseUrl = '';

  constructor(
    readonly merchants: SimMerchants,
    readonly store: OrderStore,
    readonly notifier: Notifier,
    readonly scenarios: ScenarioBook,
    readonly now: () => Date,
    readonly defaultNotifyUrl: string | undefined,
    readonly log: Logger | undefined,
  ) {}

  /** The credentials of the merchant a request acts for (see asMerchant). */
  get credentials(): SimCredentials {
    return this.#current ?? this.merchants.primary;
  }

  /**
   * Runs a request's handler as `merchant`. Handlers are synchronous, so the merchant cannot leak
   * into another request; notifications sent later look their merchant up by the order's mid/tid.
   */
  asMerchant<T>(merchant: SimCredentials, handler: () => T): T {
    const outer = this.#current;
    this.#current = merchant;
    try {
      return handler();
    } finally {
      this.#current = outer;
    }
  }

  order(merOrderId: string): SimOrder {
    const order = this.store.get(merOrderId);
    if (!order) throw new ControlError(404, `no order ${merOrderId}`);
    return order;
  }

  /** The buyer pays (or the payment fails): moves an open order and, unless told not to, notifies. */
  pay(merOrderId: string, options: PayOptions = {}): { order: SimOrder; deliveries: Delivery[] } {
    const outcome = options.outcome ?? 'TRADE_SUCCESS';
    const order = this.order(merOrderId);
    if (!this.store.isOpen(order)) {
      throw new ControlError(409, `order ${merOrderId} is ${order.status}; only NEW_ORDER or WAIT_BUYER_PAY orders can be paid or closed`);
    }
    if (options.amount !== undefined && outcome !== 'TRADE_SUCCESS') throw new ControlError(400, 'amount goes with outcome TRADE_SUCCESS only');
    const discount = options.discount ?? 0;
    if (!Number.isSafeInteger(discount) || discount < 0 || discount >= order.totalAmount) {
      throw new ControlError(400, `discount must be whole fen below the order's ${order.totalAmount}`);
    }
    this.store.settle(order, outcome, options.amount, discount);
    this.log?.info({ merOrderId, status: order.status }, 'ums-sim: order settled');
    const deliveries = options.notify === false ? [] : this.notify(order, order.status);
    return { order, deliveries };
  }

  /**
   * Records a new refund: at once (SUCCESS, TRADE_REFUND notified), or, under a
   * `refund-processing` scenario, PROCESSING until it settles: by a timer after `settleAfterMs`,
   * or when refund-query (or the same refund again) looks at it once that time has come.
   */
  refund(order: SimOrder, refundOrderId: string, refundAmount: number, refundDesc?: string): RefundRecord {
    const scenario = this.scenarios.takeRefund(order.merOrderId);
    const ids = { merOrderId: order.merOrderId, refundOrderId, refundAmount };
    if (!scenario) {
      const refund = this.store.refund(order, refundOrderId, refundAmount, refundDesc);
      this.log?.info(ids, 'ums-sim: refunded');
      this.notify(order, 'TRADE_REFUND', refund);
      return refund;
    }
    const settlesAt = new Date(this.now().getTime() + scenario.settleAfterMs);
    const refund = this.store.refund(order, refundOrderId, refundAmount, refundDesc, { settlesAt, outcome: scenario.outcome });
    this.log?.info({ ...ids, settlesAt, outcome: scenario.outcome }, 'ums-sim: refund processing');
    // With 0 nobody needs waking: the first refund-query settles it.
    if (scenario.settleAfterMs > 0) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#settle(order, refund);
      }, scenario.settleAfterMs);
      timer.unref();
      this.#timers.add(timer);
    }
    return refund;
  }

  /** Settles the order's PROCESSING refunds whose time has come (what a look at UMS would find). */
  settleDueRefunds(order: SimOrder): void {
    const now = this.now().getTime();
    for (const refund of order.refunds) {
      if (refund.pending && refund.pending.settlesAt.getTime() <= now) this.#settle(order, refund);
    }
  }

  /** Cancels every pending settlement timer (close, reset); the refunds stay PROCESSING. */
  stopTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #settle(order: SimOrder, refund: RefundRecord): void {
    if (!this.store.settleRefund(order, refund)) return;
    this.log?.info({ merOrderId: order.merOrderId, refundOrderId: refund.refundOrderId, refundStatus: refund.refundStatus }, 'ums-sim: refund settled');
    // A failed refund moved no money: there is nothing to announce.
    if (refund.refundStatus === 'SUCCESS') this.notify(order, 'TRADE_REFUND', refund);
  }

  /** Sends the notification for `order` at `status` (with `refund` for TRADE_REFUND), shaped by scenarios. */
  notify(order: SimOrder, status: OrderStatus, refund?: RefundRecord): Delivery[] {
    const url = order.notifyUrl ?? this.defaultNotifyUrl;
    if (!url) return [];
    const scenarios = this.scenarios.takeNotify(order.merOrderId);
    const has = (kind: string) => scenarios.find((s) => s.kind === kind);
    const delay = scenarios.find((s) => s.kind === 'delay');
    const wrongKey = has('wrong-key') !== undefined;
    const tag = scenarios.map((s) => s.kind).join('+') || undefined;
    const key = this.merchants.byMidTid(order.mid, order.tid)?.notifyKey;
    const first = this.notifier.send(url, notificationFields(order, status, this.now(), refund), {
      ...(tag ? { scenario: tag } : {}),
      ...(key !== undefined ? { key } : {}),
      wrongKey,
      delayMs: delay?.kind === 'delay' ? delay.delayMs : 0,
    });
    const sent = [first];

    const concurrent = scenarios.find((s) => s.kind === 'concurrent');
    if (concurrent?.kind === 'concurrent') {
      for (let i = 1; i < concurrent.copies; i++) {
        sent.push(this.notifier.send(url, {}, { copyOf: first, scenario: 'concurrent', delayMs: delay?.kind === 'delay' ? delay.delayMs : 0 }));
      }
    }
    if (has('duplicate')) {
      this.notifier.afterSettled(first, () => {
        this.notifier.send(url, {}, { copyOf: first, scenario: 'duplicate' });
      });
    }
    if (has('stale')) {
      const older = previousStatus(order, status);
      this.notifier.afterSettled(first, () => {
        this.notifier.send(url, notificationFields(order, older, this.now()), { scenario: 'stale', ...(key !== undefined ? { key } : {}) });
      });
    }
    return sent;
  }
}

/** The status the order had before it last reached `status` (WAIT_BUYER_PAY when unknown). */
function previousStatus(order: SimOrder, status: OrderStatus): OrderStatus {
  for (let i = order.history.length - 1; i > 0; i--) {
    if (order.history[i]!.status === status) return order.history[i - 1]!.status;
  }
  return 'WAIT_BUYER_PAY';
}
