/**
 * OPEN-ACCESS-TOKEN cache (PROTOCOL.md §2.4): one token per (baseUrl, appId), refreshed when less
 * than five minutes remain, fetched single-flight so any number of concurrent callers share one
 * token request.
 *
 * The early refresh runs in the background: until the cached token actually expires, callers get
 * it at once, and a slow or failing token endpoint costs them nothing. Only a caller with no token,
 * or an expired one, waits for (and can fail with) the fetch. So a one-minute outage of the token
 * endpoint inside the five-minute margin fails no call.
 *
 * The cache does not know how to fetch: the client hands it a fetcher. That keeps HTTP, signing
 * and error mapping in one place (client.ts) and this file about time and concurrency only.
 */

export interface AccessToken {
  /** The token itself. Secret: never log it or put it in a message. */
  readonly value: string;
  /** Epoch milliseconds at which UMS stops accepting it. */
  readonly expiresAt: number;
  /** Epoch milliseconds from which we fetch the next one (in the background while this one lasts). */
  readonly refreshAt: number;
}

/** What the token endpoint gave: the token and its lifetime in seconds. */
export interface FetchedToken {
  accessToken: string;
  expiresInSeconds: number;
}

export type TokenFetcher = () => Promise<FetchedToken>;

/** How a background (early) refresh ended; nobody awaits it, so this is the only way to hear. */
export type BackgroundRefreshOutcome = { ok: true } | { ok: false; error: unknown };

/** Refresh this long before expiry (§2.4 choice). */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60 * 1000;

/**
 * After a failed background refresh, the next one waits this long. Without a pause, a token
 * endpoint that fails fast would get one request per business call for the whole margin.
 */
export const TOKEN_REFRESH_RETRY_MS = 1_000;

export interface TokenCacheOptions {
  /** Clock, epoch milliseconds. Tests pass a fake one. */
  now?: () => number;
  refreshMarginMs?: number;
  /** Pause between background refresh attempts after a failure. Default 1 s. */
  refreshRetryMs?: number;
  /**
   * Called when a background refresh ends (e.g. to log a failing token endpoint before the cached
   * token runs out). Exceptions it throws are swallowed.
   */
  onBackgroundRefresh?: (outcome: BackgroundRefreshOutcome) => void;
}

interface Entry {
  token?: AccessToken;
  /** The one token request in flight for this key, background or not. */
  inflight?: Promise<AccessToken>;
  /** Clock time of the last failed fetch; gates background retries only. */
  failedAt?: number;
}

/**
 * Tokens keyed by (baseUrl, appId). Share one instance between clients that use the same
 * credentials to share their token; each `UmsClient` makes its own when given none.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #margin: number;
  readonly #retryPause: number;
  readonly #onBackgroundRefresh: ((outcome: BackgroundRefreshOutcome) => void) | undefined;

  constructor(options: TokenCacheOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#margin = options.refreshMarginMs ?? TOKEN_REFRESH_MARGIN_MS;
    this.#retryPause = options.refreshRetryMs ?? TOKEN_REFRESH_RETRY_MS;
    this.#onBackgroundRefresh = options.onBackgroundRefresh;
  }

  /**
   * A usable token:
   * - more than the margin left: the cached one;
   * - inside the margin but not expired: the cached one, and a background refresh is started
   *   unless one is in flight or the last one failed less than the retry pause ago;
   * - none, or expired: waits for a fetch (joining the one in flight), and fails when it fails.
   * A failed fetch is not cached.
   */
  async get(baseUrl: string, appId: string, fetch: TokenFetcher): Promise<AccessToken> {
    const entry = this.#entry(baseUrl, appId);
    const now = this.#now();
    const cached = entry.token;
    if (cached && now < cached.refreshAt) return cached;
    if (cached && now < cached.expiresAt) {
      this.#refreshInBackground(entry, fetch, now);
      return cached;
    }
    return entry.inflight ?? this.#startFetch(entry, fetch);
  }

  /**
   * Forgets `token` after UMS refused it, unless a newer token already replaced it: when fifty
   * calls fail with the same old token, only the first invalidation counts and they all share
   * one refetch. The next `get` then waits for a new token: a refused token is never served
   * again, even inside its lifetime.
   */
  invalidate(baseUrl: string, appId: string, token: AccessToken): void {
    const entry = this.#entry(baseUrl, appId);
    if (entry.token === token) delete entry.token;
  }

  #entry(baseUrl: string, appId: string): Entry {
    const key = `${baseUrl}\u0000${appId}`;
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = {};
      this.#entries.set(key, entry);
    }
    return entry;
  }

  #refreshInBackground(entry: Entry, fetch: TokenFetcher, now: number): void {
    if (entry.inflight) return;
    if (entry.failedAt !== undefined && now - entry.failedAt < this.#retryPause) return;
    this.#startFetch(entry, fetch).then(
      () => this.#notify({ ok: true }),
      (error: unknown) => this.#notify({ ok: false, error }),
    );
  }

  /** Starts the one fetch for `entry`; it clears itself from `entry` when it settles. */
  #startFetch(entry: Entry, fetch: TokenFetcher): Promise<AccessToken> {
    const attempt = this.#fetchToken(fetch);
    entry.inflight = attempt;
    // Registered before any caller's await, so it runs first: callers resumed by the outcome see
    // the entry already updated (new token stored, or the failure recorded and nothing in flight).
    // It also marks the promise handled, so an unawaited background failure is no unhandled rejection.
    attempt.then(
      (token) => {
        if (entry.inflight === attempt) delete entry.inflight;
        entry.token = token;
        delete entry.failedAt;
      },
      () => {
        if (entry.inflight === attempt) delete entry.inflight;
        entry.failedAt = this.#now();
      },
    );
    return attempt;
  }

  async #fetchToken(fetch: TokenFetcher): Promise<AccessToken> {
    const fetched = await fetch();
    const issuedAt = this.#now();
    const lifetime = fetched.expiresInSeconds * 1000;
    // A token shorter-lived than twice the margin is used for half its life, so a short
    // expiresIn never makes every call fetch a new token.
    const margin = Math.min(this.#margin, lifetime / 2);
    return { value: fetched.accessToken, expiresAt: issuedAt + lifetime, refreshAt: issuedAt + lifetime - margin };
  }

  #notify(outcome: BackgroundRefreshOutcome): void {
    try {
      this.#onBackgroundRefresh?.(outcome);
    } catch {
      // A logging hook must never break the cache.
    }
  }
}
