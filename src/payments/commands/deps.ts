/**
 * What every command needs: the parts of the gateway it works with, handed down once by the
 * facade (../commands.ts), and the few lookups that every command does the same way.
 */
import { eq } from 'drizzle-orm';
import type { Database } from '../../db/database.js';
import { payments, type PaymentRow } from '../../db/schema.js';
import type { Logger } from '../../log.js';
import type { UmsClient } from '../../ums/client.js';
import { generateOrderId } from '../../ums/ids.js';
import { instMidFor, type UmsOperations } from '../../ums/operations.js';
import { PAYMENT_CHANNELS, type InstMid, type PaymentChannel } from '../../ums/types.js';
import type { SimulatedOutcome } from '../commands-api.js';
import { PaymentError } from '../errors.js';
import { idempotentOrderId, type Attempt, type Idempotency } from '../idempotency.js';

/** The simulator's control, as `startSimulator` hands it out (structural: no import of src/sim). */
export interface SimulatorControl {
  pay(merOrderId: string, options: { outcome: SimulatedOutcome; notify: boolean }): unknown;
}

/**
 * The part of the event bus simulatePayment listens to (structural: events/bus.ts's PaymentBus
 * fits). Every committed change of a payment, on whichever instance stored it, is heard here.
 */
export interface PaymentChanges {
  subscribe(listener: (change: { readonly payment: PaymentRow }) => void): () => void;
}

/**
 * One merchant as the commands use it (structural: merchants/registry.ts's MerchantRuntime fits):
 * its typed operations (mid, tid, notifyUrl), its signed client, its source number.
 */
export interface MerchantUms {
  readonly id: string;
  readonly enabled: boolean;
  readonly sourceId: string;
  readonly ums: UmsOperations;
  readonly client: UmsClient;
}

/** Finds a merchant by id, in memory (the registry); undefined when unknown here. */
export interface MerchantLookup {
  merchant(id: string): MerchantUms | undefined;
}

export interface CommandDeps {
  readonly db: Database;
  /** The merchant `ums`, `client` and `sourceId` belong to (the default merchant unless rebound: forMerchant). */
  readonly merchantId: string;
  /** The other merchants; undefined: only the default one exists. */
  readonly merchants: MerchantLookup | undefined;
  /** Typed operations for this merchant (mid, tid, notifyUrl, sourceId). */
  readonly ums: UmsOperations;
  /** The signed client, for callUms. */
  readonly client: UmsClient;
  /** UMS_SOURCE_ID: the prefix of every merOrderId and refundOrderId. */
  readonly sourceId: string;
  /** PAYMENT_SYNC_AFTER_MS: when the scheduler first asks about a new order or refund. */
  readonly syncAfterMs: number;
  readonly log: Logger | undefined;
  readonly simulator: SimulatorControl | undefined;
  readonly changes: PaymentChanges | undefined;
  readonly simulateWaitMs: number;
  readonly unknownAtUmsCloseMs: number;
  readonly idempotency: Idempotency;
  readonly now: () => Date;
}

/**
 * `deps` acting for merchant `id`: the same deps when it is the one they are bound to (the
 * default merchant's path costs nothing), else a copy with that merchant's operations, client and
 * source number. Throws when this gateway cannot act for it (unknown, or its secrets unreadable).
 */
export function forMerchant(deps: CommandDeps, id: string): CommandDeps {
  if (id === deps.merchantId) return deps;
  const merchant = deps.merchants?.merchant(id);
  if (!merchant) {
    throw new PaymentError('UMS_UNAVAILABLE', `merchant ${id} is not available on this gateway (unknown, or its secrets cannot be decrypted)`);
  }
  return { ...deps, merchantId: merchant.id, ums: merchant.ums, client: merchant.client, sourceId: merchant.sourceId };
}

/** `deps` acting for the merchant a stored payment belongs to. */
export function forPayment(deps: CommandDeps, payment: Pick<PaymentRow, 'merchantId' | 'merOrderId'>): CommandDeps {
  try {
    return forMerchant(deps, payment.merchantId);
  } catch (err) {
    if (err instanceof PaymentError) throw new PaymentError(err.code, err.message, { merOrderId: payment.merOrderId });
    throw err;
  }
}

/** The merchant a new payment is created for: known and enabled, else a specific BAD_USER_INPUT. */
export function forCreate(deps: CommandDeps, id: string): CommandDeps {
  if (id === deps.merchantId) return deps;
  const merchant = deps.merchants?.merchant(id);
  if (!merchant) throw new PaymentError('BAD_USER_INPUT', `no merchant with id ${id}`, { field: 'merchantId' });
  if (!merchant.enabled) throw new PaymentError('BAD_USER_INPUT', `merchant ${id} is disabled`, { field: 'merchantId' });
  return forMerchant(deps, id);
}

/** The merchant id of a stored payment, or undefined when there is no such payment. */
export async function merchantIdOf(deps: CommandDeps, merOrderId: string): Promise<string | undefined> {
  const [row] = await deps.db.select({ merchantId: payments.merchantId }).from(payments).where(eq(payments.merOrderId, merOrderId));
  return row?.merchantId;
}

/**
 * The payment, or NOT_FOUND. `merchantId`: the caller's merchant; another merchant's payment is
 * NOT_FOUND with the same message as one that does not exist (CONTRACT.md: indistinguishable).
 */
export async function loadPayment(deps: CommandDeps, merOrderId: string, merchantId?: string): Promise<PaymentRow> {
  const [row] = await deps.db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
  if (!row || !ownedBy(row, merchantId)) throw notFound(merOrderId);
  return row;
}

/** True when a caller bound to `merchantId` (undefined: gateway-wide) may act on `payment`. */
export function ownedBy(payment: Pick<PaymentRow, 'merchantId'>, merchantId: string | undefined): boolean {
  return merchantId === undefined || payment.merchantId === merchantId;
}

export function notFound(merOrderId: string): PaymentError {
  return new PaymentError('NOT_FOUND', `no payment with merOrderId ${merOrderId}`, { merOrderId });
}

/** The institution code a stored payment was created under (older rows: from its channel). */
export function instMidOf(payment: PaymentRow): InstMid {
  if (payment.instMid) return payment.instMid as InstMid;
  const channel = payment.channel as PaymentChannel | null;
  return channel && (PAYMENT_CHANNELS as readonly string[]).includes(channel) ? instMidFor(channel) : 'MINIDEFAULT';
}

/**
 * The id of a new order or refund: the caller's, else one derived from the Idempotency-Key (the
 * same on every retry), else a fresh one. `ours`: a row already stored under this id was
 * stored by an earlier run under the same key and input, so it is to be resumed.
 */
export function orderIdFor(deps: CommandDeps, given: string | undefined, attempt: Attempt): { id: string; ours: boolean } {
  if (given !== undefined) return { id: given, ours: attempt.resumed };
  if (attempt.seed !== undefined) return { id: idempotentOrderId(deps.sourceId, attempt.seed), ours: true };
  return { id: generateOrderId(deps.sourceId), ours: false };
}
