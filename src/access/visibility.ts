/**
 * Which payments a caller may see, as data: the one rule every read and every command applies
 * (CONTRACT.md "API keys and client secrets"). A merchant-bound key sees its merchant's payments;
 * a client secret sees its one payment; a gateway-wide key (or the open simulator mode) sees all.
 * A payment outside the view is treated as absent: `null`, left out of lists and streams, and
 * NOT_FOUND for mutations, exactly as a payment that does not exist.
 */

export interface Visibility {
  /** Only this merchant's payments; undefined: every merchant. */
  readonly merchantId?: string | undefined;
  /** Only this one payment (a client secret); undefined: any. */
  readonly merOrderId?: string | undefined;
}

/** Everything: gateway-wide keys, open mode, and the gateway's own work (scheduler, notifications). */
export const SEES_ALL: Visibility = Object.freeze({});

/** True when `payment` is inside the view. */
export function sees(view: Visibility, payment: { readonly merchantId: string; readonly merOrderId: string }): boolean {
  return (view.merchantId === undefined || view.merchantId === payment.merchantId) && (view.merOrderId === undefined || view.merOrderId === payment.merOrderId);
}
