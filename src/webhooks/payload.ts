/**
 * A webhook's body, built from the event row as committed with its change (payment_events holds
 * the payment's amounts, payTime and refund as they were then): never from a later read of the
 * payment, so a retry or a resend of an old event never carries a newer status. The same row
 * always gives the same bytes.
 */
import type { PaymentEventRow } from '../db/schema.js';

export const WEBHOOK_EVENT_TYPES = ['PAYMENT_STATUS_CHANGED', 'REFUND_STATUS_CHANGED', 'PAYMENT_NEEDS_REVIEW'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const WIRE_TYPES: Record<WebhookEventType, string> = {
  PAYMENT_STATUS_CHANGED: 'payment.status_changed',
  REFUND_STATUS_CHANGED: 'refund.status_changed',
  PAYMENT_NEEDS_REVIEW: 'payment.needs_review',
};

/** The webhook type of an event, by its kind (payment_events.kind). */
export function eventTypeOf(event: Pick<PaymentEventRow, 'kind'>): WebhookEventType {
  if (event.kind === 'refund') return 'REFUND_STATUS_CHANGED';
  if (event.kind === 'review') return 'PAYMENT_NEEDS_REVIEW';
  return 'PAYMENT_STATUS_CHANGED';
}

/** The JSON body (text) of `event`. */
export function webhookBody(event: PaymentEventRow): string {
  const type = eventTypeOf(event);
  const data: Record<string, unknown> = {
    eventId: String(event.id),
    merOrderId: event.merOrderId,
    merchantId: event.merchantId,
    status: event.status,
    previousStatus: event.previousStatus,
    version: event.version,
    totalAmount: event.totalAmount,
    refundedAmount: event.refundedAmount,
    payTime: event.payTime?.toISOString() ?? null,
    source: event.source,
    reason: event.reason,
    actor: event.actor,
  };
  if (type === 'REFUND_STATUS_CHANGED') {
    data.refundOrderId = event.refundOrderId;
    data.refundAmount = event.refundAmount;
    data.refundStatus = event.refundStatus;
  }
  return JSON.stringify({ type: WIRE_TYPES[type], timestamp: event.at.toISOString(), data });
}
