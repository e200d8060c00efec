/**
 * The ledger's vocabulary: what a report says, what applying it answers, and the reasons a
 * payment is flagged for review. Types and constants only.
 */
import type { PaymentEventRow, PaymentRow } from '../../db/schema.js';
import type { UmsOrderFacts } from '../../ums/notification.js';
import type { EventSource, PaymentStatus, RefundStatus, TransitionReason } from '../status.js';

export type { RefundStatus } from '../status.js';

/** Refund statuses that are still open: refund-query settles them. */
export const PENDING_REFUND_STATUSES: readonly RefundStatus[] = ['PROCESSING', 'UNKNOWN'];

/** What a notification, a query answer or a mutation learnt about one order. Amounts in fen. */
export interface StatusReport extends UmsOrderFacts {
  merOrderId: string;
  /**
   * The merchant whose notify key verified this report (notifications only): the payment must be
   * that merchant's, else nothing is applied (MerchantMismatch). An unknown order is stored under it.
   */
  merchantId?: string;
  status: PaymentStatus;
  refund?: {
    refundOrderId: string;
    refundAmount: number;
    /**
     * The refund's own status (refundStatus) where UMS sent it. Absent: SUCCESS, since a refund
     * notice without one announces money that went back (PROTOCOL.md §4.1).
     */
    status?: RefundStatus;
    refundTargetOrderId?: string;
  };
  /**
   * A refund amount reported with no id at all (no refundOrderId, refundTargetOrderId or
   * notifyId): it cannot be counted exactly once, so the payment is flagged for review instead.
   */
  unidentifiedRefundAmount?: number;
}

/** A report verified for one merchant names a payment of another: nothing is applied. */
export class MerchantMismatch extends Error {
  override name = 'MerchantMismatch';
  constructor(readonly merOrderId: string) {
    super(`payment ${merOrderId} belongs to another merchant than the one whose key verified the report`);
  }
}

export type ApplyOutcome = 'applied' | 'duplicate' | 'stale' | 'review' | 'created';

export interface ApplyResult {
  outcome: ApplyOutcome;
  /** Why (status.ts reason, or the review cause such as `mismatch:totalAmount`). */
  reason: string;
  /** The row as committed (or as it stands, when nothing was applied). */
  payment: PaymentRow;
  /** The appended event, when something was applied or created. */
  event?: PaymentEventRow;
}

export interface ApplyOptions {
  /** The notifications row that carried the report. */
  notificationId?: number;
  /** The report as received, kept on the event for operators (never include `sign`). */
  payload?: unknown;
  /**
   * Apply the report only if the locked payment is still open (NEW_ORDER, WAIT_BUYER_PAY or
   * UNKNOWN). For changes decided locally from a row read earlier, such as a close after a
   * timeout: between that read and this write a payment may have arrived, and TRADE_CLOSED
   * outranks TRADE_SUCCESS, so without this guard a paid order would be closed.
   *
   * When the payment is no longer open nothing is applied and the outcome is `stale` with reason
   * `not-open`. If it is TRADE_SUCCESS or TRADE_REFUND it is also flagged for review
   * (`close-attempt-on-paid-order`): we tried to close an order whose money had moved.
   * A payment that does not exist yet is created from the report as usual (unknown order).
   */
  onlyIfOpen?: boolean;
  /** Who acted, recorded on the event (CONTRACT.md "Event feed"); undefined: `system`. */
  actor?: string | undefined;
}

/**
 * A plain forward move, decided from the locked row alone (planForwardMove): the row as it must be
 * after the write, and its event. Written by src/payments/forward-moves.ts for a batch of
 * notifications in one statement.
 */
export interface ForwardMove {
  /** The locked row with the report's fields, the next status, version + 1 and the new times. */
  payment: PaymentRow;
  previousStatus: PaymentStatus;
  source: EventSource;
  reason: TransitionReason;
  /** The event's payload, null when none. */
  payload: unknown;
}

/** Review reason when a report gives a refund an amount other than the one we stored for it (not taken). */
export const REFUND_AMOUNT_MISMATCH = 'mismatch:refundAmount';
/** Review reason when a refund we had recorded as FAIL is reported SUCCESS (it is then counted). */
export const REFUND_SUCCEEDED_AFTER_FAIL = 'refund-succeeded-after-fail';
/** Review reason when the refunds counted add up to more than the order's totalAmount. */
export const REFUNDED_MORE_THAN_PAID = 'refunded-more-than-paid';
/** Review reason when a report names a refund id already stored under another order (not counted). */
export const REFUND_OF_ANOTHER_ORDER = 'mismatch:refundOrderId';
/** Review reason when a refund is counted that may be one already counted under another id. */
export const REFUND_POSSIBLY_COUNTED_TWICE = 'refund-possibly-counted-twice';
/** Review reason when counting a refund would take refundedAmount past what the column holds (not counted). */
export const REFUNDED_AMOUNT_OVERFLOW = 'refunded-amount-overflow';
/** Review reason when a report says money went back but names no refund we could count once. */
export const REFUND_WITHOUT_ID = 'refund-without-id';

/** Reason of an applied change that only counted a refund (the reported status was not news). */
export const REFUND_COUNTED_REASON = 'refund-counted';
/** Review reason when a refund is reported for an order never known as paid, with no status to apply. */
export const REFUND_ON_UNPAID_ORDER = 'refund-on-unpaid-order';
/** Outcome reason when `onlyIfOpen` found the payment no longer open. */
export const NOT_OPEN_REASON = 'not-open';
/** Review reason when `onlyIfOpen` found the payment paid (or refunded). */
export const CLOSE_OF_PAID_ORDER_REASON = 'close-attempt-on-paid-order';

/** A new order, stored as NEW_ORDER before UMS is called, so a crash leaves a trace. */
export interface NewOrder {
  merOrderId: string;
  totalAmount: number;
  mid: string;
  tid: string;
  channel?: string;
  instMid?: string;
  description?: string;
  expireTime?: Date;
  /** When the sync scheduler should first ask UMS about it. */
  nextSyncAt?: Date;
  /** The merchant it belongs to; undefined: the column's default (`default`). */
  merchantId?: string | undefined;
  /** Who created it, recorded on its first event; undefined: `system`. */
  actor?: string | undefined;
  attachedData?: string;
  srcReserve?: string;
  /** Bounded JSON object, kept by the gateway only. */
  metadata?: Readonly<Record<string, unknown>>;
  secureTransaction?: boolean;
  divisionFlag?: boolean;
  platformAmount?: number;
  subOrders?: readonly { mid: string; totalAmount: number }[];
}

