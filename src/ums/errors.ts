/**
 * The typed errors of the UMS client (stripe-node style: one base class, one subclass per cause).
 *
 * The one question every caller must answer after a failed money-moving call is "did it happen?".
 * `outcomeUnknown` answers it: `true` means UMS may have acted on the request (a timeout after
 * sending, a 5xx, an unreadable answer, an ambiguous errCode), so the caller must ask
 * `/v1/netpay/query` (or refund-query) before concluding anything. `false` means the request was
 * certainly not carried out (never sent, or refused with a clear errCode).
 *
 * No message built here ever contains the appKey, a token, an Authorization header or a signature:
 * messages are made only from the service name, HTTP status, errCode and UMS's own errMsg text.
 */

/**
 * errCodes after which the request may or may not have been carried out: the rows PROTOCOL.md
 * §5.1 marks ambiguous or "retry with the same ids, then query". The one list for the client
 * (`outcomeUnknown`) and the simulator (the codes its `errcode` scenario plays).
 */
export const OUTCOME_UNKNOWN_ERR_CODES = [
  'DUP_ORDER',
  'ORDER_PROCESSING',
  'NET_ERROR',
  'TIMEOUT',
  'INTERNAL_ERROR',
  'TXN_DISCARDED',
  'INVALID_RESPONSE',
] as const;

export type OutcomeUnknownErrCode = (typeof OUTCOME_UNKNOWN_ERR_CODES)[number];

/** `OUTCOME_UNKNOWN_ERR_CODES` as a set, for lookups. */
export const AMBIGUOUS_ERR_CODES: ReadonlySet<string> = new Set(OUTCOME_UNKNOWN_ERR_CODES);

/** What each known netpay/bills errCode means (PROTOCOL.md §5.1), for messages and operators. */
export const ERR_CODE_MEANINGS: Readonly<Record<string, string>> = {
  BAD_REQUEST: 'malformed message or field value',
  BAD_SIGN: 'signature error (check appId/appKey and the clock)',
  NO_ORDER: 'original order not found',
  DUP_ORDER: 'duplicate order request',
  ORDER_PROCESSING: 'order is being processed; concurrent operations are refused',
  OPERATION_NOT_ALLOWED: 'operation not allowed in the order’s current state',
  TARGET_FAIL: 'the WeChat/Alipay/UnionPay side failed',
  NET_ERROR: 'network problem between UMS and the channel',
  TIMEOUT: 'processing timeout at UMS',
  INTERNAL_ERROR: 'UMS internal error',
  TXN_DISCARDED: 'request dropped because processing started too late',
  NO_MERCHANT: 'merchant unknown',
  INACTIVE_MERCHANT: 'merchant frozen',
  INVLID_MERCHANT_CONFIG: 'merchant misconfigured',
  INVALID_MSGSRC: 'bad message source',
  INVALID_ORDER: 'bad order data',
  NO_SERVICE: 'unknown service',
  ABNORMAL_REQUEST_TIME: 'request time abnormal (clock skew)',
  NO_CROSS_DAY_TRADING: 'cancel not allowed across days (use refund)',
  DENIED_IP: 'trading not allowed from this IP',
  INVALID_RESPONSE: 'invalid answer from the channel',
  '1000': 'H5 parameter parse error',
};

export interface UmsErrorOptions {
  /** `service` as given to `UmsClient.call`, e.g. `netpay/query`. */
  service?: string | undefined;
  errCode?: string | undefined;
  outcomeUnknown?: boolean | undefined;
  /** HTTP status of the answer, when one was received. */
  httpStatus?: number | undefined;
  cause?: unknown;
}

/** Base class of everything the UMS client throws. */
export class UmsError extends Error {
  override name = 'UmsError';
  /** `true`: UMS may have carried the request out; query before concluding (see module doc). */
  readonly outcomeUnknown: boolean;
  /** UMS's errCode when the answer carried one. */
  readonly errCode: string | undefined;
  readonly service: string | undefined;
  readonly httpStatus: number | undefined;

  constructor(message: string, options: UmsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.outcomeUnknown = options.outcomeUnknown ?? false;
    this.errCode = options.errCode;
    this.service = options.service;
    this.httpStatus = options.httpStatus;
  }
}

export type TransportFailure = 'connect' | 'connect-timeout' | 'headers-timeout' | 'body-timeout' | 'socket' | 'http-status' | 'other';

/**
 * The network failed or UMS answered 5xx. `outcomeUnknown` is `true` once the request may have
 * reached UMS (everything except a failed connect).
 */
export class UmsTransportError extends UmsError {
  override name = 'UmsTransportError';
  readonly failure: TransportFailure;
  constructor(message: string, failure: TransportFailure, options: UmsErrorOptions = {}) {
    super(message, options);
    this.failure = failure;
  }
}

export type ProtocolFailure = 'not-json' | 'no-err-code' | 'too-large' | 'bad-status';

/**
 * UMS answered something that is not a UMS answer: not JSON, no errCode, over the size bound, or
 * an unexpected HTTP status without a JSON errCode. For a create/refund/close this is outcome
 * unknown; for a read-only call (query) it is not.
 */
export class UmsProtocolError extends UmsError {
  override name = 'UmsProtocolError';
  readonly failure: ProtocolFailure;
  constructor(message: string, failure: ProtocolFailure, options: UmsErrorOptions = {}) {
    super(message, options);
    this.failure = failure;
  }
}

/**
 * UMS answered with an errCode other than success. `outcomeUnknown` for the ambiguous codes of
 * PROTOCOL.md §5.1 (`OUTCOME_UNKNOWN_ERR_CODES`): the caller must query.
 */
export class UmsBusinessError extends UmsError {
  override name = 'UmsBusinessError';
  declare readonly errCode: string;
  /** UMS's human text (`errMsg`, or `errInfo` when that is what the answer used). */
  readonly errMsg: string | undefined;
  /** What the errCode means per PROTOCOL.md §5.1, when it is a known one. */
  readonly meaning: string | undefined;
  /** The whole decoded answer (UMS answers carry no secrets). */
  readonly response: Readonly<Record<string, unknown>>;

  constructor(
    errCode: string,
    errMsg: string | undefined,
    response: Readonly<Record<string, unknown>>,
    options: UmsErrorOptions = {},
  ) {
    const meaning = ERR_CODE_MEANINGS[errCode];
    const unknown = AMBIGUOUS_ERR_CODES.has(errCode);
    const parts = [`UMS ${options.service ?? 'call'} answered ${errCode}`];
    if (errMsg) parts.push(`: ${errMsg}`);
    if (meaning) parts.push(` (${meaning})`);
    if (unknown) parts.push(' — outcome unknown: query');
    super(parts.join(''), { ...options, errCode, outcomeUnknown: options.outcomeUnknown ?? unknown });
    this.errMsg = errMsg;
    this.meaning = meaning;
    this.response = response;
  }
}

/**
 * Authentication was refused: BAD_SIGN, a refused or expired token, or the token endpoint said
 * no. The request was not carried out (`outcomeUnknown` is `false`).
 */
export class UmsAuthError extends UmsError {
  override name = 'UmsAuthError';
  readonly errMsg: string | undefined;
  constructor(message: string, errMsg: string | undefined, options: UmsErrorOptions = {}) {
    super(message, { ...options, outcomeUnknown: false });
    this.errMsg = errMsg;
  }
}

/** The client was set up wrongly (bad base URL, empty appId/appKey, unsupported channel…). */
export class UmsConfigError extends UmsError {
  override name = 'UmsConfigError';
}

/** An operation was given input UMS would refuse (missing payer id, bad amount, foreign order id); nothing was sent. */
export class UmsInputError extends UmsError {
  override name = 'UmsInputError';
}
