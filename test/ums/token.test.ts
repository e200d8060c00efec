/**
 * TokenCache on its own: a fake clock and hand-driven fetches, so every interleaving of callers,
 * background refreshes and failures is exact. (client-token-refresh.test.ts covers the same rules
 * through the real client and an HTTP peer.)
 */
import { describe, expect, it } from 'vitest';
import { TokenCache, type AccessToken, type BackgroundRefreshOutcome, type FetchedToken, type TokenFetcher } from '../../src/ums/token.js';

const BASE = 'http://ums.test';
const APP = 'app-1';
const MINUTE = 60_000;
const T0 = 1_700_000_000_000;

/** A fetcher whose calls wait until the test settles them. */
function manualFetcher() {
  const pending: { resolve: (t: FetchedToken) => void; reject: (e: Error) => void }[] = [];
  const fetch: TokenFetcher = () => new Promise<FetchedToken>((resolve, reject) => pending.push({ resolve, reject }));
  return {
    fetch,
    get calls() {
      return pending.length;
    },
    succeed(i: number, accessToken: string) {
      pending[i]!.resolve({ accessToken, expiresInSeconds: 3600 });
    },
    fail(i: number, message = 'token endpoint down') {
      pending[i]!.reject(new Error(message));
    },
  };
}

/** A cache on a fake clock, holding token `tok-1` issued at T0 (expires T0 + 60 min). */
async function warmCache(options: { refreshRetryMs?: number } = {}) {
  const clock = { now: T0 };
  const outcomes: BackgroundRefreshOutcome[] = [];
  const cache = new TokenCache({ now: () => clock.now, onBackgroundRefresh: (o) => outcomes.push(o), ...options });
  const first = manualFetcher();
  const got = cache.get(BASE, APP, first.fetch);
  first.succeed(0, 'tok-1');
  const token = await got;
  return { clock, cache, outcomes, token };
}

/** Lets settled promises run their reactions. */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TokenCache', () => {
  it('inside the margin, serves the cached token at once while one background fetch runs', async () => {
    const { clock, cache, outcomes, token } = await warmCache();
    expect(token).toMatchObject({ value: 'tok-1', expiresAt: T0 + 60 * MINUTE, refreshAt: T0 + 55 * MINUTE });
    clock.now += 56 * MINUTE;
    const f = manualFetcher();
    const served = await Promise.all(Array.from({ length: 50 }, () => cache.get(BASE, APP, f.fetch)));
    expect(served.every((t) => t.value === 'tok-1')).toBe(true);
    expect(f.calls).toBe(1);

    f.succeed(0, 'tok-2');
    await drain();
    expect(outcomes).toEqual([{ ok: true }]);
    expect((await cache.get(BASE, APP, f.fetch)).value).toBe('tok-2');
    expect(f.calls).toBe(1);
  });

  it('a failed background fetch keeps the cached token, pauses, then retries on a later call', async () => {
    const { clock, cache, outcomes } = await warmCache({ refreshRetryMs: 1_000 });
    clock.now += 56 * MINUTE;
    const f = manualFetcher();
    expect((await cache.get(BASE, APP, f.fetch)).value).toBe('tok-1');
    f.fail(0);
    await drain();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ ok: false, error: new Error('token endpoint down') });

    clock.now += 999;
    expect((await cache.get(BASE, APP, f.fetch)).value).toBe('tok-1');
    expect(f.calls).toBe(1); // still pausing

    clock.now += 1;
    expect((await cache.get(BASE, APP, f.fetch)).value).toBe('tok-1');
    expect(f.calls).toBe(2);
  });

  it('once expired, callers wait: they join a background fetch in flight and fail with it', async () => {
    const { clock, cache } = await warmCache();
    clock.now += 59 * MINUTE;
    const f = manualFetcher();
    expect((await cache.get(BASE, APP, f.fetch)).value).toBe('tok-1'); // starts the background fetch
    clock.now += MINUTE; // expired exactly
    const waiting = [cache.get(BASE, APP, f.fetch), cache.get(BASE, APP, f.fetch)];
    expect(f.calls).toBe(1); // joined, not a second request
    f.fail(0, 'still down');
    for (const w of waiting) await expect(w).rejects.toThrow('still down');

    // The failure is not cached and the retry pause does not apply to a caller with no valid token.
    const next = cache.get(BASE, APP, f.fetch);
    expect(f.calls).toBe(2);
    f.succeed(1, 'tok-2');
    expect((await next).value).toBe('tok-2');
  });

  it('once expired, a background fetch in flight that succeeds serves the waiting callers', async () => {
    const { clock, cache } = await warmCache();
    clock.now += 58 * MINUTE;
    const f = manualFetcher();
    await cache.get(BASE, APP, f.fetch);
    clock.now += 3 * MINUTE;
    const waiting = cache.get(BASE, APP, f.fetch);
    f.succeed(0, 'tok-2');
    expect((await waiting).value).toBe('tok-2');
    expect(f.calls).toBe(1);
  });

  it('an invalidated token is never served again, even inside its lifetime and the retry pause', async () => {
    const { clock, cache, token } = await warmCache({ refreshRetryMs: 60_000 });
    clock.now += 56 * MINUTE;
    const f = manualFetcher();
    await cache.get(BASE, APP, f.fetch);
    f.fail(0);
    await drain();

    cache.invalidate(BASE, APP, token);
    const waiting = cache.get(BASE, APP, f.fetch);
    expect(f.calls).toBe(2); // blocking fetch at once
    f.fail(1);
    await expect(waiting).rejects.toThrow('token endpoint down');
    const again = cache.get(BASE, APP, f.fetch);
    expect(f.calls).toBe(3);
    f.succeed(2, 'tok-2');
    expect((await again).value).toBe('tok-2');
  });

  it('invalidating an old token after a newer one arrived keeps the newer one', async () => {
    const { clock, cache, token } = await warmCache();
    clock.now += 56 * MINUTE;
    const f = manualFetcher();
    await cache.get(BASE, APP, f.fetch);
    f.succeed(0, 'tok-2');
    await drain();
    cache.invalidate(BASE, APP, token);
    expect((await cache.get(BASE, APP, f.fetch)).value).toBe('tok-2');
    expect(f.calls).toBe(1);
  });

  it('a fetcher that throws synchronously does not wedge the cache', async () => {
    const cache = new TokenCache({ now: () => T0 });
    const throwing: TokenFetcher = () => {
      throw new Error('boom');
    };
    await expect(cache.get(BASE, APP, throwing)).rejects.toThrow('boom');
    const f = manualFetcher();
    const next = cache.get(BASE, APP, f.fetch);
    expect(f.calls).toBe(1);
    f.succeed(0, 'tok-1');
    expect((await next).value).toBe('tok-1');
  });

  it('a throwing hook, or none, never surfaces a background failure', async () => {
    let now = T0;
    for (const onBackgroundRefresh of [undefined, () => { throw new Error('hook broke'); }]) {
      const cache = new TokenCache({ now: () => now, ...(onBackgroundRefresh ? { onBackgroundRefresh } : {}) });
      const f = manualFetcher();
      const first = cache.get(BASE, APP, f.fetch);
      f.succeed(0, 'tok-1');
      const token: AccessToken = await first;
      now = token.refreshAt;
      expect((await cache.get(BASE, APP, f.fetch)).value).toBe('tok-1');
      f.fail(1);
      await drain(); // an unhandled rejection here would fail the run
      expect((await cache.get(BASE, APP, f.fetch)).value).toBe('tok-1');
      now = T0;
    }
  });

  it('keys are separate: another appId has its own token and its own fetch', async () => {
    const { cache } = await warmCache();
    const f = manualFetcher();
    const other = cache.get(BASE, 'app-2', f.fetch);
    expect(f.calls).toBe(1);
    f.succeed(0, 'tok-other');
    expect((await other).value).toBe('tok-other');
    expect((await cache.get(BASE, APP, f.fetch)).value).toBe('tok-1');
  });
});
