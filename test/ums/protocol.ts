/**
 * Lists copied by hand from PROTOCOL.md §5.1 ("Known errCode values"), so that tests compare the
 * code with the protocol rather than with itself. Update them only when PROTOCOL.md changes.
 */

/** Every errCode of the netpay/bills table, success excluded. */
export const PROTOCOL_ERR_CODES = [
  'BAD_REQUEST',
  'BAD_SIGN',
  'NO_ORDER',
  'DUP_ORDER',
  'ORDER_PROCESSING',
  'OPERATION_NOT_ALLOWED',
  'TARGET_FAIL',
  'NET_ERROR',
  'TIMEOUT',
  'INTERNAL_ERROR',
  'TXN_DISCARDED',
  'NO_MERCHANT',
  'INACTIVE_MERCHANT',
  'INVLID_MERCHANT_CONFIG',
  'INVALID_MSGSRC',
  'INVALID_ORDER',
  'NO_SERVICE',
  'ABNORMAL_REQUEST_TIME',
  'NO_CROSS_DAY_TRADING',
  'DENIED_IP',
  'INVALID_RESPONSE',
  '1000',
] as const;

/**
 * The rows whose handling is "ambiguous – query" or "retry with the same ids, then query": after
 * these the request may or may not have been carried out.
 */
export const PROTOCOL_OUTCOME_UNKNOWN_ERR_CODES = [
  'DUP_ORDER',
  'ORDER_PROCESSING',
  'NET_ERROR',
  'TIMEOUT',
  'INTERNAL_ERROR',
  'TXN_DISCARDED',
  'INVALID_RESPONSE',
] as const;
