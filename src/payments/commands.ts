/**
 * The payment commands behind one facade: create, sync, close, refund, callUms and, in simulator
 * mode, simulatePayment (the PaymentCommands interface of commands-api.ts), plus what the sync
 * scheduler asks of them (syncPayment, closePayment, settleRefund). Each command lives in its own
 * file under commands/; this class only holds the parts they share and hands them down.
 *
 * Every state change goes through the ledger (the single writer); the commands decide what to
 * ask UMS and what its answer means. The rules that matter most:
 * - Validate first: a bad input is refused with a specific message and changes nothing.
 * - Store first: the order is NEW_ORDER (the refund PROCESSING) before UMS is called, so a crash
 *   leaves a trace the sync scheduler will settle.
 * - A timeout or an ambiguous UMS answer is never a failure: the payment becomes UNKNOWN (the
 *   refund UNKNOWN) and is answered as such; the scheduler settles it by query, never by
 *   retrying with a new id.
 * - A clear refusal is recorded (order closed, refund FAIL, with UMS's errCode on the event) and
 *   thrown as PaymentError UMS_REJECTED; except for a create or refund RESENT under the same id,
 *   which the first send may have carried out: that stays UNKNOWN for the query to settle.
 */
import type { Database } from '../db/database.js';
import type { PaymentRow, RefundRow } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { UmsClient } from '../ums/client.js';
import type { UmsOperations } from '../ums/operations.js';
import type {
  CommandOptions,
  CreatePaymentInput,
  CreatePaymentResult,
  PaymentCommands,
  RefundPaymentInput,
  SimulatedOutcome,
} from './commands-api.js';
import { callUms } from './commands/call-ums.js';
import { cancelSecurePayment, completeSecurePayment } from './commands/secure.js';
import { createPayment } from './commands/create.js';
import type { CommandDeps, MerchantLookup, PaymentChanges, SimulatorControl } from './commands/deps.js';
import { DEFAULT_MERCHANT_ID } from '../merchants/ids.js';
import { refundPayment, settleRefund } from './commands/refund.js';
import { simulatePayment } from './commands/simulate.js';
import { resolveReview, type ResolveReviewInput } from './commands/resolve-review.js';
import { askUms, closeByUser, closePayment, syncByUser, syncPayment, type UmsAnswer } from './commands/sync.js';
import { Idempotency } from './idempotency.js';
import type { EventSource } from './status.js';
import type { SyncCommands } from './sync/scheduler.js';

export { firstSyncAt } from './commands/create.js';
export { toPaymentError } from './commands/ums-errors.js';
export type { MerchantLookup, MerchantUms, PaymentChanges, SimulatorControl } from './commands/deps.js';
export type { ResolveReviewInput } from './commands/resolve-review.js';
export type { UmsAnswer } from './commands/sync.js';

export interface PaymentServiceOptions {
  db: Database;
  /** Typed operations for this merchant (mid, tid, notifyUrl, sourceId). */
  ums: UmsOperations;
  /** The signed client, for callUms. */
  client: UmsClient;
  /** UMS_SOURCE_ID: the prefix of every merOrderId and refundOrderId. */
  sourceId: string;
  /**
   * The merchants beyond `default` (merchants/registry.ts): each payment is acted on with its
   * own merchant's client. `ums`, `client` and `sourceId` above are the default merchant's.
   */
  merchants?: MerchantLookup;
  /** PAYMENT_SYNC_AFTER_MS: when the scheduler first asks about a new order or refund. */
  syncAfterMs: number;
  log?: Logger;
  /** Present in simulator mode only: enables simulatePayment. */
  simulator?: SimulatorControl;
  /**
   * The event bus: simulatePayment answers once it hears the simulator's notification stored.
   * Without it, simulatePayment asks UMS right away instead of waiting for the notification.
   */
  bus?: PaymentChanges;
  /** How long simulatePayment waits for the notification before asking UMS itself. Default 5 s. */
  simulateWaitMs?: number;
  /**
   * An order without an expireTime that UMS still does not know after this long is closed here
   * (UMS's own default order lifetime is 30 minutes). Default 35 minutes.
   */
  unknownAtUmsCloseMs?: number;
  idempotency?: Idempotency;
  now?: () => Date;
}

export class PaymentService implements PaymentCommands, SyncCommands {
  readonly #deps: CommandDeps;

  constructor(options: PaymentServiceOptions) {
    const now = options.now ?? (() => new Date());
    this.#deps = {
      db: options.db,
      merchantId: DEFAULT_MERCHANT_ID,
      merchants: options.merchants,
      ums: options.ums,
      client: options.client,
      sourceId: options.sourceId,
      syncAfterMs: options.syncAfterMs,
      log: options.log,
      simulator: options.simulator,
      changes: options.bus,
      simulateWaitMs: options.simulateWaitMs ?? 5_000,
      unknownAtUmsCloseMs: options.unknownAtUmsCloseMs ?? 35 * 60_000,
      idempotency: options.idempotency ?? new Idempotency(options.db, { now }),
      now,
    };
    if (!options.simulator) this.simulatePayment = undefined;
  }

  create(input: CreatePaymentInput, opts: CommandOptions = {}): Promise<CreatePaymentResult> {
    return createPayment(this.#deps, input, opts);
  }

  /** The syncPayment mutation: an active query at UMS, stored with source SYNC. */
  sync(merOrderId: string, opts: CommandOptions = {}): Promise<PaymentRow> {
    return syncByUser(this.#deps, merOrderId, opts);
  }

  close(merOrderId: string, opts: CommandOptions = {}): Promise<PaymentRow> {
    return closeByUser(this.#deps, merOrderId, opts);
  }

  refund(input: RefundPaymentInput, opts: CommandOptions = {}): Promise<RefundRow> {
    return refundPayment(this.#deps, input, opts);
  }

  callUms(service: string, version: string, body: unknown, dataTag?: boolean): Promise<unknown> {
    return callUms(this.#deps, service, version, body, dataTag);
  }

  completeSecure(merOrderId: string, amount?: number): Promise<PaymentRow> {
    return completeSecurePayment(this.#deps, merOrderId, amount);
  }

  cancelSecure(merOrderId: string): Promise<PaymentRow> {
    return cancelSecurePayment(this.#deps, merOrderId);
  }

  simulatePayment?: (merOrderId: string, outcome: SimulatedOutcome, opts?: CommandOptions) => Promise<PaymentRow> = (merOrderId, outcome, opts = {}) =>
    simulatePayment(this.#deps, merOrderId, outcome, opts);

  /** An operator's decision on a payment under review (commands/resolve-review.ts). */
  resolveReview(input: ResolveReviewInput): Promise<PaymentRow> {
    return resolveReview(this.#deps, input);
  }

  /** What UMS says about one order, stored nowhere: the query syncPayment makes (reconciliation's look). */
  askUms(payment: PaymentRow): Promise<UmsAnswer> {
    return askUms(this.#deps, payment);
  }

  // What the sync scheduler asks (SyncCommands).

  syncPayment(payment: PaymentRow, source: EventSource): Promise<PaymentRow> {
    return syncPayment(this.#deps, payment, source);
  }

  closePayment(payment: PaymentRow, source: EventSource): Promise<PaymentRow> {
    return closePayment(this.#deps, payment, source);
  }

  settleRefund(refund: RefundRow, source: EventSource): Promise<RefundRow> {
    return settleRefund(this.#deps, refund, source);
  }
}

export function createPaymentCommands(options: PaymentServiceOptions): PaymentService {
  return new PaymentService(options);
}
