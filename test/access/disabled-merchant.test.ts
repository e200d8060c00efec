/**
 * A merchant set `enabled: false` (updateMerchant) stops its keys: the key ring asks the merchant
 * registry, in memory, and a bound key of a disabled merchant is as good as no key. Keys of other
 * merchants and gateway-wide keys are untouched.
 */
import { describe, expect, it } from 'vitest';
import type { ApiKeyCache, LiveKey } from '../../src/access/key-cache.js';
import { Secret } from '../../src/config.js';
import { ApiKeyRing } from '../../src/graphql/auth.js';

/** The part of the cache the ring uses: every presented bearer is the run-time key of `merchantId`. */
function cacheOf(merchantId: string | null): ApiKeyCache {
  const key = { id: `key_${merchantId ?? 'wide'}`, scopes: new Set(['read'] as const), expiresAt: null, merchantId } as LiveKey;
  return { lookup: () => key } as unknown as ApiKeyCache;
}

const ENV_KEYS = [{ key: new Secret('an-environment-admin-key'), scopes: new Set(['admin'] as const) }];
const disabled = (id: string) => id === 'closed';

describe('keys of a disabled merchant', () => {
  it('are refused, while an enabled merchant’s and gateway-wide keys work', () => {
    expect(new ApiKeyRing(ENV_KEYS, cacheOf('closed'), undefined, disabled).identify('Bearer rk_closed')).toEqual({ kind: 'anonymous', reason: 'invalid' });
    expect(new ApiKeyRing(ENV_KEYS, cacheOf('open'), undefined, disabled).identify('Bearer rk_open')).toMatchObject({ kind: 'key', merchantId: 'open' });
    expect(new ApiKeyRing(ENV_KEYS, cacheOf(null), undefined, disabled).identify('Bearer rk_wide')).toMatchObject({ kind: 'key', merchantId: undefined });
    expect(new ApiKeyRing(ENV_KEYS, cacheOf('closed'), undefined, disabled).identify('Bearer an-environment-admin-key')).toMatchObject({ kind: 'key', actor: expect.stringMatching(/^env:[0-9a-f]{8}$/) });
  });
});
