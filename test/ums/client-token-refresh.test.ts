/**
 * Token mode when the token endpoint is down or slow: inside the five-minute refresh margin the
 * still-valid token keeps every call working while the refresh is retried in the background; only
 * once the token has expired do calls fail, clearly, before any business request is sent.
 *
 * The cache's clock is fake (the peer does not check token lifetimes), so minutes pass instantly.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { UmsClient, type UmsClientOptions } from '../../src/ums/client.js';
import { UmsAuthError, UmsTransportError } from '../../src/ums/errors.js';
import { TokenCache, type BackgroundRefreshOutcome } from '../../src/ums/token.js';
import { startUmsPeer, type UmsPeer } from '../support/ums-peer.js';
import { umsFailure } from '../support/ums-failure.js';

const APP_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const APP_KEY = 'k9_test_app_key_0123456789abcdef';
const MINUTE = 60_000;
const TOKEN_DOWN = { status: 503, text: 'token service down' };

let peer: UmsPeer;
let now: number;
let refreshOutcomes: BackgroundRefreshOutcome[];
let refreshWaiters: ((outcome: BackgroundRefreshOutcome) => void)[];
const clients: UmsClient[] = [];

/** A token-mode client on the fake clock, its cache reporting background refreshes. */
function client(options: Partial<UmsClientOptions> = {}): UmsClient {
  const tokenCache = new TokenCache({
    now: () => now,
    onBackgroundRefresh: (outcome) => {
      refreshOutcomes.push(outcome);
      for (const resolve of refreshWaiters.splice(0)) resolve(outcome);
    },
  });
  const c = new UmsClient({ baseUrl: peer.baseUrl, appId: APP_ID, appKey: new Secret(APP_KEY), authMode: 'token', tokenCache, ...options });
  clients.push(c);
  return c;
}

/** Resolves when the next background refresh ends. Call it before the call that starts one. */
function nextRefresh(): Promise<BackgroundRefreshOutcome> {
  return new Promise((resolve) => refreshWaiters.push(resolve));
}

/** The Authorization header carrying the i-th token the peer issued. */
function tokenAuth(i: number): string {
  const token = peer.issuedTokens[i];
  expect(token).toBeDefined();
  return `OPEN-ACCESS-TOKEN AccessToken=${token}`;
}

function lastAuth(): string | undefined {
  return peer.requests.at(-1)?.headers.authorization;
}

beforeEach(async () => {
  peer = await startUmsPeer({ appId: APP_ID, appKey: APP_KEY }); // tokens live 3600 s
  now = 1_700_000_000_000;
  refreshOutcomes = [];
  refreshWaiters = [];
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await peer.close();
});

describe('token endpoint down inside the refresh margin', () => {
  it('calls keep succeeding with the cached token, and the refresh is retried on a later call', async () => {
    const c = client();
    await c.call('netpay/query', 'v1', {});
    const oldToken = tokenAuth(0);

    peer.tokenReply = TOKEN_DOWN;
    now += 56 * MINUTE; // 4 minutes left
    let refresh = nextRefresh();
    const answer = await c.call('netpay/refund', 'v1', { merOrderId: '31940001', refundAmount: 100 });
    expect(answer.errCode).toBe('SUCCESS');
    expect(lastAuth()).toBe(oldToken);
    const failed = await refresh;
    expect(failed.ok).toBe(false);
    const refreshError = (failed as { error: unknown }).error;
    expect(refreshError).toBeInstanceOf(UmsTransportError);
    expect((refreshError as Error).message).toMatch(/token request failed/);
    expect(peer.tokenRequests).toHaveLength(2);

    // Straight after a failure the refresh pauses (no token request per call), calls still work.
    expect((await c.call('netpay/query', 'v1', {})).errCode).toBe('SUCCESS');
    expect(lastAuth()).toBe(oldToken);
    expect(peer.tokenRequests).toHaveLength(2);

    // A later call retries; still down, still served.
    now += MINUTE; // 3 minutes left
    refresh = nextRefresh();
    expect((await c.call('netpay/query', 'v1', {})).errCode).toBe('SUCCESS');
    expect(lastAuth()).toBe(oldToken);
    expect((await refresh).ok).toBe(false);
    expect(peer.tokenRequests).toHaveLength(3);

    // The endpoint recovers: the next retry gets a new token and calls move to it.
    peer.tokenReply = undefined;
    now += MINUTE; // 2 minutes left
    refresh = nextRefresh();
    expect((await c.call('netpay/query', 'v1', {})).errCode).toBe('SUCCESS');
    expect(lastAuth()).toBe(oldToken);
    expect(await refresh).toEqual({ ok: true });
    expect(peer.tokenRequests).toHaveLength(4);
    expect((await c.call('netpay/query', 'v1', {})).errCode).toBe('SUCCESS');
    expect(lastAuth()).toBe(tokenAuth(1));
    expect(peer.tokenRequests).toHaveLength(4);
    expect(peer.requests.every((r) => r.auth.scheme === 'OPEN-ACCESS-TOKEN' && r.auth.ok)).toBe(true);
  });

  it('a slow token endpoint does not hold calls up', async () => {
    const c = client();
    await c.call('netpay/query', 'v1', {});
    // The token endpoint answers only once the test lets it: the business call must not wait.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    peer.tokenReply = { hold: released, json: { errCode: '9999', errInfo: '系统繁忙' } };
    now += 56 * MINUTE;
    const refresh = nextRefresh();
    expect((await c.call('netpay/refund', 'v1', {})).errCode).toBe('SUCCESS');
    expect(lastAuth()).toBe(tokenAuth(0));
    // The call was answered while the token request was still waiting for its answer.
    expect(refreshOutcomes).toHaveLength(0);
    expect(peer.tokenRequests).toHaveLength(2);
    release();
    const outcome = await refresh;
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(UmsAuthError);
  });

  it('a failing background refresh is logged as a warning, without the token or the appKey', async () => {
    // The client's own cache, on the client's clock: past 56 minutes, the hour-long token is
    // refreshed in the background.
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          done();
        },
      }),
    );
    const start = Date.now();
    let skew = 0;
    const c = new UmsClient({ baseUrl: peer.baseUrl, appId: APP_ID, appKey: APP_KEY, authMode: 'token', logger, now: () => new Date(start + skew) });
    clients.push(c);
    await c.call('netpay/query', 'v1', {});
    peer.tokenReply = TOKEN_DOWN;
    skew = 56 * MINUTE;
    expect((await c.call('netpay/query', 'v1', {})).errCode).toBe('SUCCESS');
    await expect.poll(() => lines.some((l) => l.includes('ums token refresh failed'))).toBe(true);
    const warning = lines.find((l) => l.includes('ums token refresh failed'))!;
    expect(JSON.parse(warning)).toMatchObject({ level: 40, tokenRefreshError: { type: 'UmsTransportError', message: expect.stringMatching(/token request failed/) } });
    for (const line of lines) {
      expect(line).not.toContain(peer.issuedTokens[0]);
      expect(line).not.toContain(APP_KEY);
    }
  });
});

describe('token endpoint down after the token expired', () => {
  it('calls fail with a clear, outcome-known error and no business request is sent', async () => {
    const c = client();
    await c.call('netpay/query', 'v1', {});
    peer.tokenReply = TOKEN_DOWN;

    now += 57 * MINUTE; // inside the margin: still served
    const refresh = nextRefresh();
    expect((await c.call('netpay/query', 'v1', {})).errCode).toBe('SUCCESS');
    expect((await refresh).ok).toBe(false);
    expect(peer.requests).toHaveLength(2);

    now += 3 * MINUTE; // expired
    for (const service of ['netpay/refund', 'netpay/query']) {
      const error = await umsFailure(c.call(service, 'v1', { merOrderId: '31940001' }));
      expect(error).toBeInstanceOf(UmsTransportError);
      expect(error.outcomeUnknown).toBe(false);
      expect(error.message).toBe(`UMS ${service}: token request failed: UMS token/access: HTTP 503`);
      expect(error.message).not.toContain(peer.issuedTokens[0]);
    }
    expect(peer.requests).toHaveLength(2); // nothing sent with the expired token
    expect(peer.tokenRequests).toHaveLength(4); // each blocked call asked again, none reused a failure

    // A refusal by the token endpoint reads as an auth error.
    peer.tokenReply = { json: { errCode: '1001', errInfo: '签名错误' } };
    const refused = await umsFailure(c.call('netpay/refund', 'v1', {}));
    expect(refused).toBeInstanceOf(UmsAuthError);
    expect(refused.message).toBe('UMS token request refused (1001: 签名错误)');
    expect(peer.requests).toHaveLength(2);

    // Back up: the next call waits for a new token and goes through.
    peer.tokenReply = undefined;
    expect((await c.call('netpay/refund', 'v1', {})).errCode).toBe('SUCCESS');
    expect(lastAuth()).toBe(tokenAuth(1));
  });

  it('a token UMS refuses inside the margin is not reused: the call waits for a new one', async () => {
    const c = client();
    await c.call('netpay/query', 'v1', {});
    peer.tokenReply = TOKEN_DOWN;
    now += 56 * MINUTE;
    const refresh = nextRefresh();
    expect((await c.call('netpay/query', 'v1', {})).errCode).toBe('SUCCESS');
    expect((await refresh).ok).toBe(false);

    peer.revokeTokens(); // UMS drops the still-young token
    const error = await umsFailure(c.call('netpay/refund', 'v1', {}));
    expect(error).toBeInstanceOf(UmsTransportError);
    expect(error.message).toMatch(/^UMS netpay\/refund: token request failed/);
    expect(error.outcomeUnknown).toBe(false); // the only business request sent was refused
    expect(peer.requests).toHaveLength(3);
    expect(peer.requests[2]!.auth).toMatchObject({ ok: false });

    // The refused token is gone for good: no call sends it again.
    await umsFailure(c.call('netpay/refund', 'v1', {}));
    expect(peer.requests).toHaveLength(3);

    peer.tokenReply = undefined;
    expect((await c.call('netpay/refund', 'v1', {})).errCode).toBe('SUCCESS');
    expect(lastAuth()).toBe(tokenAuth(1));
  });
});

describe('single-flight of background refreshes', () => {
  it('50 concurrent calls inside the margin are all served and make one token request', async () => {
    const c = client();
    await c.call('netpay/query', 'v1', {});
    now += 56 * MINUTE;
    const refresh = nextRefresh();
    const calls = () =>
      Promise.all(Array.from({ length: 50 }, (_, i) => c.call('netpay/query', 'v1', { merOrderId: `3194${String(i).padStart(6, '0')}` })));

    const first = await calls();
    expect(first.every((a) => a.errCode === 'SUCCESS')).toBe(true);
    expect(peer.tokenRequests).toHaveLength(2);
    expect(await refresh).toEqual({ ok: true });
    expect(peer.requests.slice(1).every((r) => r.headers.authorization === tokenAuth(0))).toBe(true);

    const second = await calls();
    expect(second.every((a) => a.errCode === 'SUCCESS')).toBe(true);
    expect(peer.tokenRequests).toHaveLength(2);
    expect(peer.requests.slice(51).every((r) => r.headers.authorization === tokenAuth(1))).toBe(true);
    expect(refreshOutcomes).toHaveLength(1);
  });

  it('50 concurrent calls inside the margin with the endpoint down: all served, one token request', async () => {
    const c = client();
    await c.call('netpay/query', 'v1', {});
    peer.tokenReply = TOKEN_DOWN;
    now += 56 * MINUTE;
    const refresh = nextRefresh();
    const answers = await Promise.all(Array.from({ length: 50 }, () => c.call('netpay/query', 'v1', {})));
    expect(answers.every((a) => a.errCode === 'SUCCESS')).toBe(true);
    expect((await refresh).ok).toBe(false);
    expect(peer.tokenRequests).toHaveLength(2);
    expect(peer.requests).toHaveLength(51);
  });
});
