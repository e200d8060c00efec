/**
 * OPEN-ACCESS-TOKEN cache (PROTOCOL.md §2.4): one token per (baseUrl, appId), refreshed when less
 * than five minutes remain, fetched single-flight so any number of concurrent callers share one
 * token request.
 *
 * The cache does not know how to fetch: the client hands it a fetcher. That keeps HTTP, signing
 * and error mapping in one place (client.ts) and this file about time and concurrency only.
 */

export interface AccessToken {
  /** The token itself. Secret: never log it or put it in a message. */
  readonly value: string;
  /** Epoch milliseconds at which UMS stops accepting it. */
  readonly expiresAt: number;
  /** Epoch milliseconds at which we stop using it and fetch the next one. */
  readonly refreshAt: number;
}

/** What the token endpoint gave: the token and its lifetime in seconds. */
export interface FetchedToken {
  accessToken: string;
  expiresInSeconds: number;
}

export type TokenFetcher = () => Promise<FetchedToken>;

/** Refresh this long before expiry (§2.4 choice). */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60 * 1000;

export interface TokenCacheOptions {
  /** Clock, epoch milliseconds. Tests pass a fake one. */
  now?: () => number;
  refreshMarginMs?: number;
}

interface Entry {
  token?: AccessToken;
  inflight?: Promise<AccessToken>;
}

/**
 * Tokens keyed by (baseUrl, appId). Share one instance between clients that use the same
 * credentials to share their token; each `UmsClient` makes its own when given none.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #margin: number;

  constructor(options: TokenCacheOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#margin = options.refreshMarginMs ?? TOKEN_REFRESH_MARGIN_MS;
  }

  /**
   * A usable token: the cached one while it has more than the margin left, else a fresh one from
   * `fetch`. Concurrent callers of one key wait for the same fetch. A failed fetch is not cached.
   */
  async get(baseUrl: string, appId: string, fetch: TokenFetcher): Promise<AccessToken> {
    const entry = this.#entry(baseUrl, appId);
    if (entry.token && this.#now() < entry.token.refreshAt) return entry.token;
    entry.inflight ??= this.#fetchInto(entry, fetch);
    return entry.inflight;
  }

  /**
   * Forgets `token` after UMS refused it, unless a newer token already replaced it: when fifty
   * calls fail with the same old token, only the first invalidation counts and they all share
   * one refetch.
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

  async #fetchInto(entry: Entry, fetch: TokenFetcher): Promise<AccessToken> {
    try {
      const fetched = await fetch();
      const issuedAt = this.#now();
      const lifetime = fetched.expiresInSeconds * 1000;
      // A token shorter-lived than twice the margin is used for half its life, so a short
      // expiresIn never makes every call fetch a new token.
      const margin = Math.min(this.#margin, lifetime / 2);
      const token: AccessToken = {
        value: fetched.accessToken,
        expiresAt: issuedAt + lifetime,
        refreshAt: issuedAt + lifetime - margin,
      };
      entry.token = token;
      return token;
    } finally {
      delete entry.inflight;
    }
  }
}
