/**
 * `UmsClient`: signed JSON calls to the UMS Open Platform (PROTOCOL.md §1, §2, §5) over one
 * keep-alive undici Pool.
 *
 * What it guarantees:
 * - The body is serialised once, and those exact bytes are both signed and sent (§1.1).
 * - Every failure is a typed `UmsError` whose `outcomeUnknown` says whether UMS may have acted.
 * - An answer is read into memory only up to `maxResponseBytes`; a bigger one is a protocol error.
 * - In token mode, one token per (baseUrl, appId), refreshed early in the background (a failing
 *   token endpoint fails calls only once the cached token has expired), single-flight; a refused
 *   token is refetched once and the call retried once.
 * - The appKey, tokens, Authorization headers and signatures never reach a log line, a metric or
 *   an error message.
 *
 * @example
 * ```ts
 * const ums = new UmsClient({ baseUrl, appId, appKey: config.umsAppKey, logger });
 * const answer = await ums.call('netpay/query', 'v1', { mid, tid, instMid: 'MINIDEFAULT', merOrderId });
 * await ums.close();
 * ```
 */
import { Pool, errors as undiciErrors } from 'undici';
import { errorSummary } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { Secret, type Config } from '../config.js';
import { authError, checkAnswer, errCodeOf, isAuthFailure, outcomeOf, rebrand, stringField, toNumber, tooLarge, transportError, unwrapData, type RawAnswer } from './answers.js';
import { formParamUrl, newNonce, openBodySigHeader, tokenSignature } from './sign.js';
import { beijingCompact, beijingDateTime } from './time.js';
import { TokenCache, type AccessToken, type BackgroundRefreshOutcome, type FetchedToken } from './token.js';
import {
  UmsAuthError,
  UmsConfigError,
  UmsError,
  UmsProtocolError,
  UmsTransportError,
} from './errors.js';

export type UmsAuthMode = 'body-sig' | 'token';

/** A decoded UMS answer whose errCode was a success code. */
export type UmsResponse = Record<string, unknown> & { errCode: string };

/** How a call ended, for metrics. */
export type UmsCallOutcome = 'ok' | 'business-error' | 'unknown' | 'error';

/** Passed to `onCall` once per `call` (after retries), and logged the same way. */
export interface UmsCallInfo {
  /** e.g. `netpay/query`. */
  service: string;
  version: string;
  errCode?: string;
  outcome: UmsCallOutcome;
  /** Wall time of the whole call, token fetch and retry included. */
  ms: number;
  merOrderId?: string;
  httpStatus?: number;
}

export interface UmsClientOptions {
  /** e.g. `https://test-api-open.chinaums.com`; a path prefix is kept (`http://host/ums`). */
  baseUrl: string;
  /** Where browsers open H5 pages (`formParamUrl`); default `baseUrl`. The built-in simulator's public address. */
  pageBaseUrl?: string;
  appId: string;
  /** The open-platform appKey (HMAC key and token secret). Prefer a `Secret`. */
  appKey: Secret | string;
  /** `body-sig` (default): OPEN-BODY-SIG on every request. `token`: OPEN-ACCESS-TOKEN. */
  authMode?: UmsAuthMode;
  /** Wrap every body as `{"data": {...}}` (the seed's `needDataTag`). Default `false`. */
  wrapData?: boolean;
  /** TCP/TLS connect timeout. Default 5 000 ms. A connect failure is never outcome-unknown. */
  connectTimeoutMs?: number;
  /** Time allowed from sending until the response headers. Default 15 000 ms. */
  headersTimeoutMs?: number;
  /** Longest silence while the body arrives. Default 15 000 ms. */
  bodyTimeoutMs?: number;
  /** Largest answer read; a bigger one is a `UmsProtocolError` ('too-large'). Default 1 MiB. */
  maxResponseBytes?: number;
  /** Keep-alive sockets in the pool. Default 16. */
  connections?: number;
  /** Idle time before a kept-alive socket is closed. Default 10 000 ms. */
  keepAliveTimeoutMs?: number;
  /** One structured line per call: service, errCode, outcome, ms, merOrderId. Never secrets. */
  logger?: Logger;
  /** Metrics hook, called once per call; exceptions it throws are swallowed. */
  onCall?: (info: UmsCallInfo) => void;
  /** Share a cache between clients to share tokens; by default each client has its own. */
  tokenCache?: TokenCache;
  /**
   * Clock for timestamps (auth and requestTimestamp) and for the lifetimes of the client's own
   * token cache (not of a `tokenCache` passed in). Tests pass a fixed or fake one.
   */
  now?: () => Date;
}

export interface UmsCallOptions {
  /** Overrides the client's `wrapData` for this call. */
  wrapData?: boolean;
  /**
   * The call changes nothing at UMS (query, refund-query, bills query): an unreadable answer is
   * then not outcome-unknown. Default `false`: assume it may have moved money.
   */
  readOnly?: boolean;
  /** errCodes that mean success. Default `['SUCCESS']` (netpay); POS-link uses `['00']`. */
  successCodes?: readonly string[];
  /** Leave `requestTimestamp` alone even when absent (non-netpay APIs). Default `false`. */
  noRequestTimestamp?: boolean;
  signal?: AbortSignal;
}

const DEFAULTS = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 15_000,
  bodyTimeoutMs: 15_000,
  maxResponseBytes: 1024 * 1024,
  connections: 16,
  keepAliveTimeoutMs: 10_000,
} as const;

/** Token endpoint (§2.1). Its success code is `0000`, not `SUCCESS`. */
export const TOKEN_PATH = '/v1/token/access';
const TOKEN_SUCCESS = '0000';

const SERVICE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_\-/]*$/;
const VERSION_PATTERN = /^v\d+$/;

/** Signs and sends UMS Open Platform calls. See the module comment. */
export class UmsClient {
  readonly baseUrl: string;
  readonly #pageBaseUrl: string;
  readonly appId: string;
  readonly authMode: UmsAuthMode;
  readonly #appKey: Secret;
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #wrapData: boolean;
  readonly #headersTimeout: number;
  readonly #bodyTimeout: number;
  readonly #maxBytes: number;
  readonly #logger: Logger | undefined;
  readonly #onCall: ((info: UmsCallInfo) => void) | undefined;
  readonly #tokens: TokenCache;
  readonly #now: () => Date;

  constructor(options: UmsClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new UmsConfigError('UMS baseUrl: expected an http(s) URL such as https://test-api-open.chinaums.com');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UmsConfigError('UMS baseUrl: expected an http(s) URL');
    }
    if (!options.appId?.trim()) throw new UmsConfigError('UMS appId: must not be empty');
    const appKey = typeof options.appKey === 'string' ? new Secret(options.appKey) : options.appKey;
    if (!(appKey instanceof Secret) || appKey.reveal() === '') {
      throw new UmsConfigError('UMS appKey: must not be empty');
    }
    const authMode = options.authMode ?? 'body-sig';
    if (authMode !== 'body-sig' && authMode !== 'token') {
      throw new UmsConfigError('UMS authMode: expected body-sig or token');
    }

    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.baseUrl = url.origin + this.#basePath;
    this.#pageBaseUrl = options.pageBaseUrl?.replace(/\/+$/, '') ?? this.baseUrl;
    this.appId = options.appId;
    this.authMode = authMode;
    this.#appKey = appKey;
    this.#wrapData = options.wrapData ?? false;
    this.#headersTimeout = options.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs;
    this.#bodyTimeout = options.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs;
    this.#maxBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
    this.#logger = options.logger;
    this.#onCall = options.onCall;
    // Early refreshes run in the background (token.ts); without this line a failing token endpoint
    // would stay silent until the cached token expired. The message is built from safe parts only.
    // The client's own cache keeps the client's clock, so a test's clock moves token lifetimes too.
    this.#tokens =
      options.tokenCache ??
      new TokenCache({ now: () => this.#now().getTime(), onBackgroundRefresh: (outcome) => this.#reportRefresh(outcome) });
    this.#now = options.now ?? (() => new Date());
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? DEFAULTS.connections,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULTS.keepAliveTimeoutMs,
      connectTimeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      headersTimeout: this.#headersTimeout,
      bodyTimeout: this.#bodyTimeout,
      // undici counts the body bytes and destroys the socket past the bound, declared length or not.
      maxResponseSize: this.#maxBytes,
    });
  }

  /**
   * A client for the configured UMS: `config.umsBaseUrl`, or `overrides.baseUrl` (the built-in
   * simulator's URL) when that is unset; appId, appKey and auth mode from the config.
   */
  static fromConfig(
    config: Pick<Config, 'umsBaseUrl' | 'umsAppId' | 'umsAppKey' | 'umsAuthMode'> & Partial<Pick<Config, 'umsDataTag'>>,
    overrides: Partial<Omit<UmsClientOptions, 'appId' | 'appKey'>> = {},
  ): UmsClient {
    const baseUrl = overrides.baseUrl ?? config.umsBaseUrl;
    if (baseUrl === undefined) {
      throw new UmsConfigError('UMS baseUrl: UMS_BASE_URL is unset, so pass the simulator URL as baseUrl');
    }
    return new UmsClient({
      authMode: config.umsAuthMode,
      ...(config.umsDataTag ? { wrapData: true } : {}),
      ...overrides,
      baseUrl,
      appId: config.umsAppId,
      appKey: config.umsAppKey,
    });
  }

  /**
   * POST `{baseUrl}/{version}/{service}` with `body` (fields as UMS names them, amounts in fen),
   * authenticated per `authMode`. Fills `requestTimestamp` (Beijing `yyyy-MM-dd HH:mm:ss`) when
   * absent. Resolves with the decoded answer when its errCode is a success code.
   *
   * @example `client.call('netpay/query', 'v1', { mid, tid, instMid: 'MINIDEFAULT', merOrderId })`
   * @throws UmsBusinessError the answer carried another errCode (`.response` holds it all)
   * @throws UmsAuthError BAD_SIGN or a refused token (after one refetch and retry in token mode)
   * @throws UmsTransportError connect failure, timeout, reset, HTTP 5xx
   * @throws UmsProtocolError not JSON, no errCode, too big, odd status
   */
  async call(service: string, version: string, body: object, options: UmsCallOptions = {}): Promise<UmsResponse> {
    const started = performance.now();
    // `object` rather than Record<string, unknown> so that callers' typed interfaces are accepted.
    const fields = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Readonly<Record<string, unknown>>;
    const merOrderId = typeof fields.merOrderId === 'string' ? fields.merOrderId : typeof fields.billNo === 'string' ? fields.billNo : undefined;
    try {
      if (fields !== body) throw new UmsConfigError('UMS call: body must be a JSON object', { service });
      const answer = await this.#call(service, version, fields, options);
      this.#report({ service, version, errCode: answer.errCode, outcome: 'ok', ms: performance.now() - started, merOrderId });
      return answer;
    } catch (error) {
      const info: UmsCallInfo = { service, version, outcome: outcomeOf(error), ms: performance.now() - started, merOrderId };
      if (error instanceof UmsError) {
        if (error.errCode !== undefined) info.errCode = error.errCode;
        if (error.httpStatus !== undefined) info.httpStatus = error.httpStatus;
      }
      this.#report(info, error);
      throw error;
    }
  }

  /**
   * The signed OPEN-FORM-PARAM GET URL for an H5 page (§3): `content` is serialised once and that
   * string is signed and placed in the query. No HTTP call is made.
   */
  formParamUrl(path: string, content: object): string {
    const fields: Record<string, unknown> = { ...content };
    if (fields.requestTimestamp === undefined) fields.requestTimestamp = beijingDateTime(this.#now());
    return formParamUrl({
      baseUrl: this.#pageBaseUrl,
      path,
      appId: this.appId,
      appKey: this.#appKey.reveal(),
      timestamp: beijingCompact(this.#now()),
      nonce: newNonce(),
      content: JSON.stringify(fields),
    });
  }

  /** Closes the pool's sockets (waits for calls in flight). */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  // -------------------------------------------------------------------------------------------

  async #call(
    service: string,
    version: string,
    body: Readonly<Record<string, unknown>>,
    options: UmsCallOptions,
  ): Promise<UmsResponse> {
    if (!SERVICE_PATTERN.test(service) || service.includes('..')) {
      throw new UmsConfigError(`UMS service: expected a path such as netpay/query, got ${JSON.stringify(service)}`, { service });
    }
    if (!VERSION_PATTERN.test(version)) {
      throw new UmsConfigError(`UMS version: expected v1, v2…, got ${JSON.stringify(version)}`, { service });
    }
    const fields: Record<string, unknown> = { ...body };
    if (!options.noRequestTimestamp && fields.requestTimestamp === undefined) {
      fields.requestTimestamp = beijingDateTime(this.#now());
    }
    const payload = options.wrapData ?? this.#wrapData ? { data: fields } : fields;
    // Serialise once: these bytes are hashed for the signature and sent as they are.
    const bytes = Buffer.from(JSON.stringify(payload), 'utf8');
    const path = `${this.#basePath}/${version}/${service}`;
    const ctx = { service, readOnly: options.readOnly ?? false, signal: options.signal };
    const successCodes = options.successCodes ?? ['SUCCESS'];

    if (this.authMode === 'body-sig') {
      const answer = await this.#post(path, bytes, this.#bodySig(bytes), ctx);
      if (isAuthFailure(answer)) throw authError(service, answer, 'signature refused');
      return checkAnswer(service, answer, successCodes, ctx.readOnly);
    }

    let token = await this.#token(service);
    let answer = await this.#post(path, bytes, tokenHeader(token), ctx);
    if (isAuthFailure(answer)) {
      // The token may have expired early or been replaced: refetch once and retry once. The
      // request was refused, so sending it again cannot do anything twice.
      this.#tokens.invalidate(this.baseUrl, this.appId, token);
      token = await this.#token(service);
      answer = await this.#post(path, bytes, tokenHeader(token), ctx);
      if (isAuthFailure(answer)) throw authError(service, answer, 'access token refused');
    }
    return checkAnswer(service, answer, successCodes, ctx.readOnly);
  }

  #bodySig(bytes: Buffer): string {
    return openBodySigHeader({
      appId: this.appId,
      appKey: this.#appKey.reveal(),
      timestamp: beijingCompact(this.#now()),
      nonce: newNonce(),
      body: bytes,
    });
  }

  #token(service: string): Promise<AccessToken> {
    return this.#tokens.get(this.baseUrl, this.appId, () => this.#fetchToken(service));
  }

  /** POST /v1/token/access (§2.1). Failures here mean the business call was never sent. */
  async #fetchToken(service: string): Promise<FetchedToken> {
    const timestamp = beijingCompact(this.#now());
    const nonce = newNonce();
    const signature = tokenSignature({ appId: this.appId, appKey: this.#appKey.reveal(), timestamp, nonce });
    const bytes = Buffer.from(JSON.stringify({ appId: this.appId, timestamp, nonce, signMethod: 'SHA256', signature }), 'utf8');
    let answer: RawAnswer;
    try {
      // readOnly: a failed token request has moved nothing.
      answer = await this.#post(`${this.#basePath}${TOKEN_PATH}`, bytes, undefined, { service: 'token/access', readOnly: true });
    } catch (error) {
      if (error instanceof UmsError) {
        // Re-throw with outcomeUnknown false: the business call itself was never sent.
        throw rebrand(error, service);
      }
      throw error;
    }
    const errCode = stringField(answer.json, 'errCode');
    const accessToken = stringField(answer.json, 'accessToken');
    if (errCode !== TOKEN_SUCCESS || !accessToken) {
      const errInfo = stringField(answer.json, 'errInfo') ?? stringField(answer.json, 'errMsg');
      throw new UmsAuthError(
        `UMS token request refused${errCode ? ` (${errCode}${errInfo ? `: ${errInfo}` : ''})` : ''}`,
        errInfo,
        { service, errCode, httpStatus: answer.status },
      );
    }
    const expiresIn = toNumber(answer.json.expiresIn);
    return { accessToken, expiresInSeconds: expiresIn !== undefined && expiresIn > 0 ? expiresIn : 3600 };
  }

  /** One HTTP exchange: send the bytes, read the answer (bounded by the pool), map failures to UmsErrors. */
  async #post(
    path: string,
    bytes: Buffer,
    authorization: string | undefined,
    ctx: { service: string; readOnly: boolean; signal?: AbortSignal | undefined },
  ): Promise<RawAnswer> {
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=UTF-8',
      accept: 'application/json',
    };
    if (authorization !== undefined) headers.authorization = authorization;
    let response: Awaited<ReturnType<Pool['request']>>;
    try {
      response = await this.#pool.request({
        method: 'POST',
        path,
        headers,
        body: bytes,
        headersTimeout: this.#headersTimeout,
        bodyTimeout: this.#bodyTimeout,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    } catch (error) {
      // An answer already over the bound in its first bytes can fail the request itself.
      if (error instanceof undiciErrors.ResponseExceededMaxSizeError) throw tooLarge(ctx, undefined, this.#maxBytes);
      throw transportError(ctx.service, error);
    }

    const { statusCode, body } = response;
    let text: string;
    try {
      text = await body.text();
    } catch (error) {
      if (error instanceof undiciErrors.ResponseExceededMaxSizeError) throw tooLarge(ctx, statusCode, this.#maxBytes);
      throw transportError(ctx.service, error);
    }

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const isObject = typeof json === 'object' && json !== null && !Array.isArray(json);
    // A 5xx is a transport failure even when it carries JSON without an errCode (a proxy page).
    if (statusCode >= 500 && !(isObject && errCodeOf(json as Record<string, unknown>) !== undefined)) {
      throw new UmsTransportError(`UMS ${ctx.service}: HTTP ${statusCode} — outcome unknown: query`, 'http-status', {
        service: ctx.service,
        httpStatus: statusCode,
        outcomeUnknown: true,
      });
    }
    // A 401 is an auth refusal whatever its body says; the caller decides what to do with it.
    if (!isObject && statusCode === 401) return { status: statusCode, json: {} };
    if (!isObject) {
      throw new UmsProtocolError(`UMS ${ctx.service}: answer is not a JSON object (HTTP ${statusCode})`, 'not-json', {
        service: ctx.service,
        httpStatus: statusCode,
        outcomeUnknown: !ctx.readOnly,
      });
    }
    return { status: statusCode, json: unwrapData(json as Record<string, unknown>) };
  }

  #reportRefresh(outcome: BackgroundRefreshOutcome): void {
    if (outcome.ok || !this.#logger) return;
    const { error } = outcome;
    this.#logger.warn(
      // Not under `err`: pino's err serializer would replace the type with 'Object'.
      { tokenRefreshError: errorSummary(error) },
      'ums token refresh failed; the cached token is still used until it expires',
    );
  }

  #report(info: UmsCallInfo, error?: unknown): void {
    const ms = Math.round(info.ms);
    const line: Record<string, unknown> = { ums: { ...info, ms } };
    if (this.#logger) {
      if (info.outcome === 'ok') this.#logger.info(line, 'ums call');
      else {
        // The message is built by errors.ts from safe parts only; the cause (an undici error
        // about a socket) is not logged, as it could echo request headers in future versions.
        // Not under `err`: pino's err serializer would replace the type with 'Object'.
        this.#logger.warn({ ...line, callError: errorSummary(error) }, 'ums call failed');
      }
    }
    if (this.#onCall) {
      try {
        this.#onCall({ ...info, ms });
      } catch {
        // A metrics hook must never break a payment call.
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

function tokenHeader(token: AccessToken): string {
  return `OPEN-ACCESS-TOKEN AccessToken=${token.value}`;
}
