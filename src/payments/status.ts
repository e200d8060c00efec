/**
 * The one table of payment statuses (PROTOCOL.md §6), used for notifications, query answers and
 * mutations alike: what a status ranks, which moves are allowed, and what to do with a report
 * that does not fit.
 *
 * Rank: NEW_ORDER 0 < WAIT_BUYER_PAY = UNKNOWN 1 < TRADE_SUCCESS 2 < TRADE_REFUND 3 <
 * TRADE_CLOSED 4. A higher rank moves forward, a lower one is stale (acknowledged, changes
 * nothing), an equal one is a duplicate, except a further partial refund (TRADE_REFUND again
 * with a refund we have not counted yet). TRADE_CLOSED is terminal, and money reported after a
 * close that was never paid (a timeout close racing the buyer) is stored and flagged for review:
 * never silently applied, never silently dropped.
 */

export const PAYMENT_STATUSES = [
  'NEW_ORDER',
  'WAIT_BUYER_PAY',
  'TRADE_SUCCESS',
  'TRADE_CLOSED',
  'TRADE_REFUND',
  'UNKNOWN',
] as const;

export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/**
 * Where a change came from: a UMS notification, an active query, our own mutation, or an
 * operator's decision on a review (resolveReview; its status may equal the previous one).
 */
export const EVENT_SOURCES = ['NOTIFY', 'SYNC', 'MUTATION', 'OPERATOR'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export const STATUS_RANK: Readonly<Record<PaymentStatus, number>> = {
  NEW_ORDER: 0,
  WAIT_BUYER_PAY: 1,
  UNKNOWN: 1,
  TRADE_SUCCESS: 2,
  TRADE_REFUND: 3,
  TRADE_CLOSED: 4,
};

/** The state nothing leaves. */
export const TERMINAL_STATUS: PaymentStatus = 'TRADE_CLOSED';

/** Statuses in which the buyer may still pay: the sync scheduler asks UMS about these. */
export const OPEN_STATUSES: readonly PaymentStatus[] = ['NEW_ORDER', 'WAIT_BUYER_PAY', 'UNKNOWN'];

const ALIASES: Readonly<Record<string, PaymentStatus>> = {
  SUCCESS: 'TRADE_SUCCESS',
  REFUND: 'TRADE_REFUND',
};

export function isPaymentStatus(value: string): value is PaymentStatus {
  return (PAYMENT_STATUSES as readonly string[]).includes(value);
}

/** Paid, and perhaps partly refunded: the states in which money has moved and stays moved. */
export function isPaidStatus(status: string): boolean {
  return status === 'TRADE_SUCCESS' || status === 'TRADE_REFUND';
}

const BILL_STATUSES: Readonly<Record<string, PaymentStatus>> = {
  PAID: 'TRADE_SUCCESS',
  UNPAID: 'WAIT_BUYER_PAY',
  REFUND: 'TRADE_REFUND',
  CLOSED: 'TRADE_CLOSED',
  UNKNOWN: 'UNKNOWN',
};

/** A bills/QR `billStatus` (PAID, UNPAID, REFUND, CLOSED, UNKNOWN; any case) in our vocabulary. */
export function statusFromBillStatus(billStatus: string): PaymentStatus | undefined {
  return BILL_STATUSES[billStatus.toUpperCase()];
}

/**
 * A status as UMS wrote it, in our vocabulary: exact names, any letter case, and the older
 * aliases `SUCCESS` → TRADE_SUCCESS and `REFUND` → TRADE_REFUND. `undefined` for anything else.
 */
export function normaliseStatus(raw: string): PaymentStatus | undefined {
  const upper = raw.trim().toUpperCase();
  if (isPaymentStatus(upper)) return upper;
  return ALIASES[upper];
}

/** What we know about the stored payment beyond its status. */
export interface TransitionContext {
  /** The payment was known as paid at some point (a success or refund applied, refunds counted). */
  wasPaid?: boolean;
  /**
   * The report carries a refund that has not been counted yet. It only shapes the status decision
   * (another partial refund, a refund after a close); whether the refund is counted is the
   * ledger's business and does not depend on this decision (a duplicate status may still carry
   * an uncounted refund, which the ledger counts while keeping the status).
   */
  newRefund?: boolean;
}

export type TransitionReason =
  | 'forward'
  | 'pending-states'
  | 'refund-without-success'
  | 'another-refund'
  | 'refund-after-close'
  | 'same-status'
  | 'older-status'
  | 'after-terminal'
  | 'paid-after-close';

export type Decision =
  /** Store `next` (usually the reported status; a late refund on a closed order stays closed). */
  | { kind: 'apply'; next: PaymentStatus; reason: TransitionReason }
  /** Already recorded; acknowledge, change nothing. */
  | { kind: 'duplicate'; reason: TransitionReason }
  /** Older than what we know; acknowledge, change nothing. */
  | { kind: 'stale'; reason: TransitionReason }
  /** Must not be applied automatically: keep it and flag the payment for a person (or a query). */
  | { kind: 'review'; reason: TransitionReason };

/**
 * Decides what a reported status does to a stored one. Pure: the ledger calls it with the row
 * locked, so the decision and the write see the same state.
 */
export function decideTransition(from: PaymentStatus, to: PaymentStatus, context: TransitionContext = {}): Decision {
  if (from === TERMINAL_STATUS) {
    if (to === TERMINAL_STATUS) return { kind: 'duplicate', reason: 'same-status' };
    if (!context.wasPaid && (to === 'TRADE_SUCCESS' || to === 'TRADE_REFUND')) {
      return { kind: 'review', reason: 'paid-after-close' };
    }
    // Closed after a full refund, and the refund's own notice arrives late: count the money,
    // keep the order closed.
    if (to === 'TRADE_REFUND' && context.newRefund) {
      return { kind: 'apply', next: TERMINAL_STATUS, reason: 'refund-after-close' };
    }
    return { kind: 'stale', reason: 'after-terminal' };
  }

  if (from === to) {
    if (to === 'TRADE_REFUND' && context.newRefund) return { kind: 'apply', next: to, reason: 'another-refund' };
    return { kind: 'duplicate', reason: 'same-status' };
  }

  const rankFrom = STATUS_RANK[from];
  const rankTo = STATUS_RANK[to];
  // WAIT_BUYER_PAY and UNKNOWN share a rank and may replace each other (§6.2).
  if (rankFrom === rankTo) return { kind: 'apply', next: to, reason: 'pending-states' };
  if (rankTo < rankFrom) return { kind: 'stale', reason: 'older-status' };
  if (to === 'TRADE_REFUND' && rankFrom < STATUS_RANK.TRADE_SUCCESS) {
    // The success notice was lost: the order was paid, then refunded. Move forward.
    return { kind: 'apply', next: to, reason: 'refund-without-success' };
  }
  return { kind: 'apply', next: to, reason: 'forward' };
}

/** Whether the buyer may still pay (the sync scheduler's working set). */
export function isOpen(status: PaymentStatus): boolean {
  return OPEN_STATUSES.includes(status);
}

/** A refund's own status (PROTOCOL.md §6.1 refundStatus): only SUCCESS means the money went back. */
export const REFUND_STATUSES = ['PROCESSING', 'SUCCESS', 'FAIL', 'UNKNOWN'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/**
 * `refundStatus` as UMS wrote it, any letter case: undefined when absent or empty, UNKNOWN when
 * unreadable (refund-query will tell), never SUCCESS unless UMS said so.
 */
export function normaliseRefundStatus(raw: string | undefined): RefundStatus | undefined {
  const upper = raw?.trim().toUpperCase();
  if (upper === undefined || upper === '') return undefined;
  return (REFUND_STATUSES as readonly string[]).includes(upper) ? (upper as RefundStatus) : 'UNKNOWN';
}
