/**
 * The errors that the payment commands throw, one class with a code per cause (the GraphQL layer
 * maps `code` to `extensions.code`). Messages are written for the API user and never carry keys,
 * signatures or raw UMS bodies: only ids, amounts and UMS's errCode / errMsg.
 */

export type PaymentErrorCode =
  /** The input is wrong; nothing was stored and UMS was not called. */
  | 'BAD_USER_INPUT'
  /** No payment (or refund) with that id. */
  | 'NOT_FOUND'
  /** The payment is in a state that does not allow the operation (e.g. refund of an unpaid order). */
  | 'CONFLICT'
  /** An Idempotency-Key was used before with a different input. */
  | 'IDEMPOTENCY_KEY_REUSED'
  /** UMS answered with a clear business refusal (`errCode` says which). */
  | 'UMS_REJECTED'
  /** UMS could not be reached or answered ambiguously; what was stored is pending, not failed. */
  | 'UMS_UNAVAILABLE';

export interface PaymentErrorDetails {
  merOrderId?: string;
  refundOrderId?: string;
  /** UMS's errCode, for UMS_REJECTED / UMS_UNAVAILABLE. */
  errCode?: string;
  /** The input field at fault, for BAD_USER_INPUT. */
  field?: string;
}

export class PaymentError extends Error {
  override name = 'PaymentError';
  readonly code: PaymentErrorCode;
  readonly details: PaymentErrorDetails;

  constructor(code: PaymentErrorCode, message: string, details: PaymentErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

export function isPaymentError(err: unknown): err is PaymentError {
  return err instanceof PaymentError;
}

export const badInput = (field: string, message: string) => new PaymentError('BAD_USER_INPUT', message, { field });
