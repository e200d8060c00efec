/**
 * Reading UMS's answers: what an HTTP status and a JSON body mean (success, a business refusal,
 * an authentication failure, an ambiguous outcome), and what a transport failure means for the
 * call's outcome. Pure functions, used by client.ts; kept apart so the client holds only the
 * sending (auth modes, token cache, pool).
 */
import { errors as undiciErrors } from 'undici';
import {
  UmsAuthError,
  UmsBusinessError,
  UmsError,
  UmsProtocolError,
  UmsTransportError,
  type TransportFailure,
} from './errors.js';
import type { UmsCallOutcome, UmsResponse } from './client.js';

/** An HTTP answer as read: its status and its JSON body. */
export interface RawAnswer {
  status: number;
  json: Record<string, unknown>;
}

export function outcomeOf(error: unknown): UmsCallOutcome {
  if (error instanceof UmsError && error.outcomeUnknown) return 'unknown';
  if (error instanceof UmsBusinessError) return 'business-error';
  return 'error';
}

export function stringField(json: Record<string, unknown>, name: string): string | undefined {
  const v = json[name];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

export function errCodeOf(json: Record<string, unknown>): string | undefined {
  const code = stringField(json, 'errCode');
  return code === undefined || code === '' ? undefined : code;
}

/** Reads both `{errCode…}` and a `{data: {errCode…}}` envelope (deployments with needDataTag). */
export function unwrapData(json: Record<string, unknown>): Record<string, unknown> {
  const data = json.data;
  if (errCodeOf(json) === undefined && typeof data === 'object' && data !== null && !Array.isArray(data)) {
    return data as Record<string, unknown>;
  }
  return json;
}

/**
 * UMS refused the credentials: HTTP 401, BAD_SIGN, or a token-related errCode. UMS's exact codes
 * for a bad or expired token are not documented (PROTOCOL.md §2), so any errCode naming the token
 * or authorization counts.
 */
export function isAuthFailure(answer: RawAnswer): boolean {
  if (answer.status === 401) return true;
  const code = errCodeOf(answer.json);
  if (code === undefined) return false;
  return code === 'BAD_SIGN' || /TOKEN|UNAUTHORI[SZ]ED|AUTHORIZATION/i.test(code);
}

export function authError(service: string, answer: RawAnswer, what: string): UmsAuthError {
  const errCode = errCodeOf(answer.json);
  const errMsg = stringField(answer.json, 'errMsg') ?? stringField(answer.json, 'errInfo');
  return new UmsAuthError(
    `UMS ${service}: ${what}${errCode ? ` (${errCode}${errMsg ? `: ${errMsg}` : ''})` : ` (HTTP ${answer.status})`}`,
    errMsg,
    { service, errCode, httpStatus: answer.status },
  );
}

export function checkAnswer(service: string, answer: RawAnswer, successCodes: readonly string[], readOnly: boolean): UmsResponse {
  const errCode = errCodeOf(answer.json);
  if (errCode === undefined) {
    throw new UmsProtocolError(
      `UMS ${service}: answer has no errCode (HTTP ${answer.status})${readOnly ? '' : ' — outcome unknown: query'}`,
      'no-err-code',
      { service, httpStatus: answer.status, outcomeUnknown: !readOnly },
    );
  }
  if (!successCodes.includes(errCode)) {
    const errMsg = stringField(answer.json, 'errMsg') ?? stringField(answer.json, 'errInfo');
    throw new UmsBusinessError(errCode, errMsg, answer.json, { service, httpStatus: answer.status });
  }
  const failed = failedResult(answer.json);
  if (failed) throw new UmsBusinessError(failed.resultCode, failed.resultInfo, answer.json, { service, httpStatus: answer.status });
  return { ...answer.json, errCode };
}

/** resultCode values that mean the business step succeeded (netpay, token, POS-link spellings). */
const RESULT_SUCCESS = new Set(['SUCCESS', '0000', '00', '0']);

/**
 * Some answers carry a business result beside the envelope's errCode: `resultCode` with
 * `resultInfo`. errCode SUCCESS only says the request was accepted; a resultCode that is not a
 * success is the call's real outcome, surfaced as a refusal rather than read as a success
 * (docs/protocol.md §8). Absent or empty: nothing to say.
 */
export function failedResult(json: Record<string, unknown>): { resultCode: string; resultInfo: string | undefined } | undefined {
  const resultCode = stringField(json, 'resultCode')?.trim();
  if (resultCode === undefined || resultCode === '' || RESULT_SUCCESS.has(resultCode.toUpperCase())) return undefined;
  return { resultCode, resultInfo: stringField(json, 'resultInfo') ?? stringField(json, 'resultMsg') };
}

export function tooLarge(ctx: { service: string; readOnly: boolean }, status: number | undefined, max: number): UmsProtocolError {
  return new UmsProtocolError(
    `UMS ${ctx.service}: answer larger than ${max} bytes${ctx.readOnly ? '' : ' — outcome unknown: query'}`,
    'too-large',
    { service: ctx.service, httpStatus: status, outcomeUnknown: !ctx.readOnly },
  );
}

/** undici failures → UmsTransportError. Only a failed connect proves the request never left. */
export function transportError(service: string, error: unknown): UmsTransportError {
  const code = (error as { code?: unknown } | null)?.code;
  let failure: TransportFailure = 'other';
  let text = 'network error';
  if (error instanceof undiciErrors.ConnectTimeoutError) {
    failure = 'connect-timeout';
    text = 'connect timeout';
  } else if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    failure = 'connect';
    text = `cannot connect (${code})`;
  } else if (error instanceof undiciErrors.HeadersTimeoutError) {
    failure = 'headers-timeout';
    text = 'no answer within the headers timeout';
  } else if (error instanceof undiciErrors.BodyTimeoutError) {
    failure = 'body-timeout';
    text = 'answer body stalled past the body timeout';
  } else if (error instanceof undiciErrors.SocketError || code === 'ECONNRESET' || code === 'EPIPE') {
    failure = 'socket';
    text = 'connection reset';
  } else if (error instanceof undiciErrors.RequestAbortedError || (error as { name?: unknown } | null)?.name === 'AbortError') {
    failure = 'other';
    text = 'aborted';
  }
  const sent = failure !== 'connect' && failure !== 'connect-timeout';
  return new UmsTransportError(`UMS ${service}: ${text}${sent ? ' — outcome unknown: query' : ''}`, failure, {
    service,
    outcomeUnknown: sent,
    cause: error,
  });
}

/** A failure of the token request, reported against the business service, outcome known. */
export function rebrand(error: UmsError, service: string): UmsError {
  const message = `UMS ${service}: token request failed: ${error.message.replace(/ — outcome unknown: query$/, '')}`;
  const options = { service, errCode: error.errCode, httpStatus: error.httpStatus, outcomeUnknown: false, cause: error };
  if (error instanceof UmsTransportError) return new UmsTransportError(message, error.failure, options);
  if (error instanceof UmsProtocolError) return new UmsProtocolError(message, error.failure, options);
  return new UmsAuthError(message, undefined, options);
}

/**
 * Amount (fen) or count reading: a JSON number or a string of digits that is a non-negative safe
 * integer. Anything else (negative, decimal, exponent, empty, out of range) is `undefined`, so a
 * malformed amount is treated as absent rather than stored as money we never had.
 */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
