/**
 * UMS errors as the domain reads them: the PaymentError the API user sees, and whether a refused
 * refund certainly moved no money. Messages carry ids and UMS's errCode / errMsg, never secrets.
 */
import { UmsAuthError, UmsBusinessError, UmsError, UmsInputError } from '../../ums/errors.js';
import { PaymentError } from '../errors.js';

/** A UmsError as the PaymentError the API user sees: refusal or unavailability, never secrets. */
export function toPaymentError(err: unknown, details: { merOrderId?: string; refundOrderId?: string }): PaymentError {
  if (err instanceof PaymentError) return err;
  // The operations refused the input before sending (the input checks should have caught it).
  if (err instanceof UmsInputError) return new PaymentError('BAD_USER_INPUT', err.message, details);
  if (err instanceof UmsBusinessError && !err.outcomeUnknown) {
    const text = err.errMsg ? `: ${err.errMsg}` : err.meaning ? ` (${err.meaning})` : '';
    return new PaymentError('UMS_REJECTED', `UMS refused with ${err.errCode}${text}`, { ...details, errCode: err.errCode }, { cause: err });
  }
  if (err instanceof UmsAuthError) {
    return new PaymentError('UMS_UNAVAILABLE', 'UMS refused the gateway’s credentials (check UMS_APP_ID / UMS_APP_KEY and the clock)', {
      ...details,
      ...(err.errCode ? { errCode: err.errCode } : {}),
    });
  }
  if (err instanceof UmsError) {
    const what = err.outcomeUnknown ? 'UMS did not answer clearly; the outcome is unknown and will be settled by query' : 'UMS could not be reached';
    return new PaymentError('UMS_UNAVAILABLE', what, { ...details, ...(err.errCode ? { errCode: err.errCode } : {}) }, { cause: err });
  }
  return new PaymentError('UMS_UNAVAILABLE', 'UMS call failed', details, { cause: err });
}

/**
 * After a refund request failed without an ambiguous outcome: is it certain that no refund was
 * made? Yes when UMS refused the request with one of its documented, unambiguous errCodes
 * (BAD_REQUEST, OPERATION_NOT_ALLOWED, …), or when the request never left or was refused at the
 * door (credentials, configuration, input checked before sending, no connection). An errCode we
 * do not know is not a clear refusal.
 */
export function refundCertainlyNotMade(err: UmsError): boolean {
  if (err.outcomeUnknown) return false;
  if (err instanceof UmsBusinessError) return err.meaning !== undefined;
  return true;
}
