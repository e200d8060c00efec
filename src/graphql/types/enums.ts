/**
 * The schema's enums (CONTRACT.md), built from the domain's own lists so that a status added in
 * src/payments/status.ts cannot be forgotten here.
 */
import { registerEnumType } from 'type-graphql';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../payments/commands-api.js';
import { EVENT_SOURCES, PAYMENT_STATUSES, type EventSource, type PaymentStatus } from '../../payments/status.js';

/** `{ A: 'A', B: 'B' }`: the enum-like object type-graphql registers. */
function enumObject<T extends string>(values: readonly T[]): { readonly [K in T]: K } {
  return Object.fromEntries(values.map((v) => [v, v])) as { readonly [K in T]: K };
}

export const PaymentStatusEnum = enumObject<PaymentStatus>(PAYMENT_STATUSES);
export const PaymentChannelEnum = enumObject<PaymentChannel>(PAYMENT_CHANNELS);
export const EventSourceEnum = enumObject<EventSource>(EVENT_SOURCES);

registerEnumType(PaymentStatusEnum, {
  name: 'PaymentStatus',
  description: 'Where a payment stands (UMS status names)',
});
registerEnumType(PaymentChannelEnum, {
  name: 'PaymentChannel',
  description: 'How the buyer pays: mini programs, a QR code, an H5 page, an official account / service window (JSAPI), or an app (APP_*)',
});
registerEnumType(EventSourceEnum, {
  name: 'EventSource',
  description: "What told us about a change: a UMS notification, an active query, a mutation, or an operator's review decision",
});

export type { EventSource, PaymentChannel, PaymentStatus };
