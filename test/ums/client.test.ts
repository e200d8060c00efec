import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.js';
import { UmsClient, type UmsCallInfo, type UmsClientOptions } from '../../src/ums/client.js';
import {
  AMBIGUOUS_ERR_CODES,
  ERR_CODE_MEANINGS,
  OUTCOME_UNKNOWN_ERR_CODES,
  UmsAuthError,
  UmsBusinessError,
  UmsConfigError,
  UmsProtocolError,
  UmsTransportError,
} from '../../src/ums/errors.js';
import { TokenCache, type BackgroundRefreshOutcome } from '../../src/ums/token.js';
import { startUmsPeer, type UmsPeer } from '../support/ums-peer.js';
import { umsFailure } from '../support/ums-failure.js';
import { PROTOCOL_ERR_CODES, PROTOCOL_OUTCOME_UNKNOWN_ERR_CODES } from './protocol.js';

/** Longer than any test: the peer's timer is cleared by close(), so nobody waits for it. */
const NEVER_MS = 600_000;

const APP_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const APP_KEY = 'k9_test_app_key_0123456789abcdef';

let peer: UmsPeer;
const clients: UmsClient[] = [];

function client(options: Partial<UmsClientOptions> = {}): UmsClient {
  const c = new UmsClient({ baseUrl: peer.baseUrl, appId: APP_ID, appKey: new Secret(APP_KEY), ...options });
  clients.push(c);
  return c;
}

beforeEach(async () => {
  peer = await startUmsPeer({ appId: APP_ID, appKey: APP_KEY });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await peer.close();
});

describe('OPEN-BODY-SIG', () => {
  it('signs the exact bytes it sends, Chinese text included, and the peer verifies them', async () => {
    const answer = await client().call('netpay/query', 'v1', {
      mid: '898201612345678',
      tid: '88880001',
      instMid: 'MINIDEFAULT',
      merOrderId: '3194202406181030150001AbCdEf',
      orderDesc: '咖啡 ☕ 一杯 "特浓" & 糖=0',
    });
    expect(answer.errCode).toBe('SUCCESS');
    expect(peer.requests).toHaveLength(1);
    const req = peer.requests[0]!;
    expect(req.path).toBe('/v1/netpay/query');
    expect(req.method).toBe('POST');
    expect(req.auth).toMatchObject({ scheme: 'OPEN-BODY-SIG', ok: true, appId: APP_ID });
    // Raw UTF-8 on the wire (not \u escapes), and the header in the majority spelling.
    expect(req.raw.toString('utf8')).toContain('咖啡 ☕ 一杯');
    expect(req.headers.authorization).toMatch(
      /^OPEN-BODY-SIG AppId="[0-9a-f]{32}", Timestamp="\d{14}", Nonce="[0-9a-f]{32}", Signature="[A-Za-z0-9+/]+={0,2}"$/,
    );
    expect(req.headers['content-type']).toMatch(/^application\/json/);
  });

  it('fills requestTimestamp in Beijing time when absent and keeps a given one', async () => {
    const fixed = new Date('2024-06-18T02:30:15Z'); // 10:30:15 in Beijing
    const c = client({ now: () => fixed });
    await c.call('netpay/query', 'v1', { merOrderId: '31940001' });
    await c.call('netpay/query', 'v1', { merOrderId: '31940002', requestTimestamp: '2020-01-01 00:00:00' });
    expect(peer.requests[0]!.json?.requestTimestamp).toBe('2024-06-18 10:30:15');
    expect(peer.requests[0]!.auth).toMatchObject({ ok: true, timestamp: '20240618103015' });
    expect(peer.requests[1]!.json?.requestTimestamp).toBe('2020-01-01 00:00:00');
  });

  it('wraps the body as {"data": …} when asked, and signs the wrapper', async () => {
    await client({ wrapData: true }).call('netpay/query', 'v1', { merOrderId: '31940001', orderDesc: '测试' });
    const req = peer.requests[0]!;
    expect(req.auth).toMatchObject({ ok: true });
    expect(Object.keys(req.json ?? {})).toEqual(['data']);
    expect(req.json?.data).toMatchObject({ merOrderId: '31940001', orderDesc: '测试', requestTimestamp: expect.any(String) });
    // per call too
    await client().call('netpay/query', 'v1', { merOrderId: '31940002' }, { wrapData: true });
    expect(Object.keys(peer.requests[1]!.json ?? {})).toEqual(['data']);
  });

  it('a wrong appKey is BAD_SIGN: UmsAuthError, outcome known, not retried', async () => {
    const error = await umsFailure(client({ appKey: 'not-the-key' }).call('netpay/query', 'v1', { merOrderId: '31940001' }));
    expect(error).toBeInstanceOf(UmsAuthError);
    expect(error.errCode).toBe('BAD_SIGN');
    expect(error.outcomeUnknown).toBe(false);
    expect(peer.requests).toHaveLength(1);
  });

  it('keeps a path prefix of the base URL', async () => {
    const c = client({ baseUrl: `${peer.baseUrl}/gw/` });
    await c.call('netpay/query', 'v1', {});
    expect(peer.requests[0]!.path).toBe('/gw/v1/netpay/query');
  });

  it('refuses bad configuration and bad service names before sending', async () => {
    expect(() => new UmsClient({ baseUrl: 'ftp://x', appId: APP_ID, appKey: APP_KEY })).toThrow(UmsConfigError);
    expect(() => new UmsClient({ baseUrl: peer.baseUrl, appId: '', appKey: APP_KEY })).toThrow(UmsConfigError);
    expect(() => new UmsClient({ baseUrl: peer.baseUrl, appId: APP_ID, appKey: '' })).toThrow(UmsConfigError);
    const c = client();
    expect(await umsFailure(c.call('../admin', 'v1', {}))).toBeInstanceOf(UmsConfigError);
    expect(await umsFailure(c.call('netpay/query', '1', {}))).toBeInstanceOf(UmsConfigError);
    expect(await umsFailure(c.call('netpay/query', 'v1', ['not', 'an', 'object']))).toBeInstanceOf(UmsConfigError);
    expect(peer.requests).toHaveLength(0);
    // a typed interface (no index signature) is accepted as a body
    interface QueryBody {
      merOrderId: string;
    }
    const typed: QueryBody = { merOrderId: '31940001' };
    expect((await c.call('netpay/query', 'v1', typed)).merOrderId).toBe('31940001');
  });
});

describe('OPEN-ACCESS-TOKEN', () => {
  it('50 concurrent calls make exactly one token request and all use that token', async () => {
    const c = client({ authMode: 'token' });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => c.call('netpay/query', 'v1', { merOrderId: `3194${String(i).padStart(6, '0')}` })),
    );
    expect(answers.every((a) => a.errCode === 'SUCCESS')).toBe(true);
    expect(peer.tokenRequests).toHaveLength(1);
    expect(peer.tokenRequests[0]!.headers.authorization).toBeUndefined();
    expect(peer.requests).toHaveLength(50);
    const token = peer.issuedTokens[0]!;
    for (const req of peer.requests) {
      expect(req.headers.authorization).toBe(`OPEN-ACCESS-TOKEN AccessToken=${token}`);
      expect(req.auth).toMatchObject({ ok: true });
    }
  });

  it('sends the §2.1 token request and refreshes once less than 5 minutes remain', async () => {
    let now = 1_700_000_000_000;
    let refreshed: (outcome: BackgroundRefreshOutcome) => void = () => {};
    const tokenCache = new TokenCache({ now: () => now, onBackgroundRefresh: (outcome) => refreshed(outcome) });
    const c = client({ authMode: 'token', tokenCache });
    await c.call('netpay/query', 'v1', {});
    const tokenBody = peer.tokenRequests[0]!.json!;
    expect(Object.keys(tokenBody).sort()).toEqual(['appId', 'nonce', 'signMethod', 'signature', 'timestamp']);
    expect(tokenBody).toMatchObject({ appId: APP_ID, signMethod: 'SHA256' });

    now += 54 * 60_000; // 6 minutes left of 60
    await c.call('netpay/query', 'v1', {});
    expect(peer.tokenRequests).toHaveLength(1);

    now += 2 * 60_000; // 4 minutes left: this call still uses the valid token, and a new one is fetched meanwhile
    const refresh = new Promise<BackgroundRefreshOutcome>((resolve) => (refreshed = resolve));
    await c.call('netpay/query', 'v1', {});
    expect(peer.requests[2]!.headers.authorization).toBe(`OPEN-ACCESS-TOKEN AccessToken=${peer.issuedTokens[0]}`);
    expect(await refresh).toEqual({ ok: true });
    expect(peer.tokenRequests).toHaveLength(2);
    await c.call('netpay/query', 'v1', {});
    expect(peer.requests[3]!.headers.authorization).toBe(`OPEN-ACCESS-TOKEN AccessToken=${peer.issuedTokens[1]}`);
    expect(peer.tokenRequests).toHaveLength(2);
  });

  it('a refused token is refetched once and the call retried once', async () => {
    const c = client({ authMode: 'token' });
    await c.call('netpay/query', 'v1', {});
    peer.revokeTokens(); // UMS forgot the token early
    const answer = await c.call('netpay/refund', 'v1', { merOrderId: '31940001' });
    expect(answer.errCode).toBe('SUCCESS');
    expect(peer.tokenRequests).toHaveLength(2);
    expect(peer.requests.map((r) => r.auth.scheme === 'OPEN-ACCESS-TOKEN' && r.auth.ok)).toEqual([true, false, true]);
  });

  it('concurrent calls that hit a refused token share one refetch', async () => {
    const c = client({ authMode: 'token' });
    await c.call('netpay/query', 'v1', {});
    peer.revokeTokens();
    await Promise.all(Array.from({ length: 10 }, () => c.call('netpay/query', 'v1', {})));
    expect(peer.tokenRequests).toHaveLength(2);
  });

  it('when the new token is refused too, it gives up with UmsAuthError: no second refetch, no third try', async () => {
    peer.refuseAllTokens = true;
    const error = await umsFailure(client({ authMode: 'token' }).call('netpay/query', 'v1', {}));
    expect(error).toBeInstanceOf(UmsAuthError);
    expect(error.outcomeUnknown).toBe(false);
    expect(error.httpStatus).toBe(401);
    expect(peer.tokenRequests).toHaveLength(2);
    expect(peer.requests).toHaveLength(2);
  });

  it('a refused token request is UmsAuthError and the business call is never sent', async () => {
    peer.tokenReply = { json: { errCode: '1001', errInfo: '签名错误' } };
    const error = await umsFailure(client({ authMode: 'token' }).call('netpay/refund', 'v1', {}));
    expect(error).toBeInstanceOf(UmsAuthError);
    expect(error.errCode).toBe('1001');
    expect(error.outcomeUnknown).toBe(false);
    expect(peer.requests).toHaveLength(0);
  });

  it('a token endpoint that times out leaves the business call outcome-known (never sent)', async () => {
    peer.tokenReply = { delayHeadersMs: NEVER_MS, json: {} };
    const error = await umsFailure(client({ authMode: 'token', headersTimeoutMs: 200 }).call('netpay/refund', 'v1', {}));
    expect(error).toBeInstanceOf(UmsTransportError);
    expect(error.outcomeUnknown).toBe(false);
    expect(peer.requests).toHaveLength(0);
  });

  it('a wrong appKey cannot get a token', async () => {
    const error = await umsFailure(client({ authMode: 'token', appKey: 'nope' }).call('netpay/query', 'v1', {}));
    expect(error).toBeInstanceOf(UmsAuthError);
    expect(peer.requests).toHaveLength(0);
  });
});

describe('transport and protocol failures', () => {
  it('headers timeout: UmsTransportError, outcome unknown', async () => {
    peer.on('/v1/netpay/refund', () => ({ delayHeadersMs: NEVER_MS, json: { errCode: 'SUCCESS' } }));
    const error = await umsFailure(client({ headersTimeoutMs: 200 }).call('netpay/refund', 'v1', {}));
    expect(error).toBeInstanceOf(UmsTransportError);
    expect((error as UmsTransportError).failure).toBe('headers-timeout');
    expect(error.outcomeUnknown).toBe(true);
    expect(error.message).toMatch(/outcome unknown: query/);
  });

  it('body timeout: UmsTransportError, outcome unknown', async () => {
    peer.on('/v1/netpay/refund', () => ({ stallBodyMs: NEVER_MS, json: { errCode: 'SUCCESS', filler: 'x'.repeat(100) } }));
    const error = await umsFailure(client({ bodyTimeoutMs: 200 }).call('netpay/refund', 'v1', {}));
    expect(error).toBeInstanceOf(UmsTransportError);
    expect((error as UmsTransportError).failure).toBe('body-timeout');
    expect(error.outcomeUnknown).toBe(true);
  });

  it('nothing listening: connect failure, outcome known (never sent)', async () => {
    const url = peer.baseUrl;
    await peer.close();
    peer = await startUmsPeer({ appId: APP_ID, appKey: APP_KEY }); // for afterEach
    const error = await umsFailure(client({ baseUrl: url }).call('netpay/refund', 'v1', {}));
    expect(error).toBeInstanceOf(UmsTransportError);
    expect((error as UmsTransportError).failure).toBe('connect');
    expect(error.outcomeUnknown).toBe(false);
  });

  it('HTTP 5xx is outcome unknown, with or without a body', async () => {
    peer.on('/v1/netpay/refund', () => ({ status: 502, text: '<html>Bad Gateway</html>' }));
    peer.on('/v1/netpay/close', () => ({ status: 500, json: { message: 'oops' } }));
    for (const service of ['netpay/refund', 'netpay/close']) {
      const error = await umsFailure(client().call(service, 'v1', {}));
      expect(error).toBeInstanceOf(UmsTransportError);
      expect(error.outcomeUnknown).toBe(true);
      expect(error.httpStatus).toBeGreaterThanOrEqual(500);
    }
  });

  it('a non-JSON answer is a protocol error: outcome unknown for a refund, known for a query', async () => {
    peer.on('/v1/netpay/refund', () => ({ text: 'SUCCESS' }));
    peer.on('/v1/netpay/query', () => ({ text: '<html>maintenance</html>' }));
    const refund = await umsFailure(client().call('netpay/refund', 'v1', {}));
    expect(refund).toBeInstanceOf(UmsProtocolError);
    expect((refund as UmsProtocolError).failure).toBe('not-json');
    expect(refund.outcomeUnknown).toBe(true);
    const query = await umsFailure(client().call('netpay/query', 'v1', {}, { readOnly: true }));
    expect(query).toBeInstanceOf(UmsProtocolError);
    expect(query.outcomeUnknown).toBe(false);
  });

  it('JSON without errCode is a protocol error, outcome unknown', async () => {
    peer.on('/v1/netpay/wx/unified-order', () => ({ json: { status: 'NEW_ORDER' } }));
    const error = await umsFailure(client().call('netpay/wx/unified-order', 'v1', {}));
    expect(error).toBeInstanceOf(UmsProtocolError);
    expect((error as UmsProtocolError).failure).toBe('no-err-code');
    expect(error.outcomeUnknown).toBe(true);
  });

  it('an oversize answer is refused without reading it whole (declared and streamed)', async () => {
    const big = 'x'.repeat(70_000);
    peer.on('/v1/netpay/refund', () => ({ json: { errCode: 'SUCCESS', big } }));
    peer.on('/v1/netpay/close', () => ({ streamBytes: 50 * 1024 * 1024 }));
    const c = client({ maxResponseBytes: 64 * 1024 });
    for (const service of ['netpay/refund', 'netpay/close']) {
      const error = await umsFailure(c.call(service, 'v1', {}));
      expect(error).toBeInstanceOf(UmsProtocolError);
      expect((error as UmsProtocolError).failure).toBe('too-large');
      expect(error.outcomeUnknown).toBe(true);
    }
    // the pool is still usable afterwards
    expect((await c.call('netpay/query', 'v1', {})).errCode).toBe('SUCCESS');
  });

  it('the default bound is 1 MiB', async () => {
    peer.on('/v1/netpay/query', () => ({ json: { errCode: 'SUCCESS', big: 'y'.repeat(1024 * 1024) } }));
    const error = await umsFailure(client().call('netpay/query', 'v1', {}, { readOnly: true }));
    expect((error as UmsProtocolError).failure).toBe('too-large');
  });
});

describe('business errCodes', () => {
  it('knows every errCode of PROTOCOL.md §5.1, and exactly its ambiguous ones leave the outcome unknown', () => {
    expect(Object.keys(ERR_CODE_MEANINGS).sort()).toEqual([...PROTOCOL_ERR_CODES].sort());
    expect([...AMBIGUOUS_ERR_CODES].sort()).toEqual([...PROTOCOL_OUTCOME_UNKNOWN_ERR_CODES].sort());
    expect([...OUTCOME_UNKNOWN_ERR_CODES].sort()).toEqual([...PROTOCOL_OUTCOME_UNKNOWN_ERR_CODES].sort());
  });

  const ambiguousInProtocol: ReadonlySet<string> = new Set(PROTOCOL_OUTCOME_UNKNOWN_ERR_CODES);
  const codes = [...PROTOCOL_ERR_CODES.filter((c) => c !== 'BAD_SIGN'), 'SOMETHING_NEW'];
  for (const code of codes) {
    const ambiguous = ambiguousInProtocol.has(code);
    it(`${code}: UmsBusinessError, outcome ${ambiguous ? 'unknown (query)' : 'known'}`, async () => {
      peer.on('/v1/netpay/refund', () => ({ json: { errCode: code, errMsg: `说明 ${code}`, merOrderId: '31940001' } }));
      const error = await umsFailure(client().call('netpay/refund', 'v1', { merOrderId: '31940001' }));
      expect(error).toBeInstanceOf(UmsBusinessError);
      const business = error as UmsBusinessError;
      expect(business.errCode).toBe(code);
      expect(business.errMsg).toBe(`说明 ${code}`);
      expect(business.outcomeUnknown).toBe(ambiguous);
      expect(business.response.merOrderId).toBe('31940001');
      if (code === 'SOMETHING_NEW') expect(business.meaning).toBeUndefined();
      else expect(business.meaning).toMatch(/\S/);
      expect(business.message).toContain(code);
      if (ambiguous) expect(business.message).toMatch(/outcome unknown: query/);
    });
  }

  it('reads errInfo when there is no errMsg, and a {data: …} envelope', async () => {
    peer.on('/v1/netpay/close', () => ({ json: { data: { errCode: 'NO_ORDER', errInfo: '无法找到指定的订单' } } }));
    const error = (await umsFailure(client().call('netpay/close', 'v1', {}))) as UmsBusinessError;
    expect(error.errCode).toBe('NO_ORDER');
    expect(error.errMsg).toBe('无法找到指定的订单');
  });

  it('a 4xx with a JSON errCode is that business error', async () => {
    peer.on('/v1/netpay/refund', () => ({ status: 400, json: { errCode: 'BAD_REQUEST', errMsg: 'bad field' } }));
    const error = await umsFailure(client().call('netpay/refund', 'v1', {}));
    expect(error).toBeInstanceOf(UmsBusinessError);
    expect(error.httpStatus).toBe(400);
  });

  it('successCodes lets other API families succeed', async () => {
    peer.on('/v2/poslink/transaction/query', () => ({ json: { errCode: '00', queryResCode: '0' } }));
    const answer = await client().call('poslink/transaction/query', 'v2', {}, { successCodes: ['00'], noRequestTimestamp: true });
    expect(answer.queryResCode).toBe('0');
    expect(peer.requests[0]!.json).toEqual({});
  });
});

describe('metrics hook', () => {
  it('reports each call once with its outcome', async () => {
    const seen: UmsCallInfo[] = [];
    peer.on('/v1/netpay/refund', (req) => ({ json: { errCode: String(req.json?.code) } }));
    peer.on('/v1/netpay/close', () => ({ status: 503, text: 'down' }));
    const c = client({ onCall: (info) => seen.push(info) });
    await c.call('netpay/query', 'v1', { merOrderId: '31940001' });
    await umsFailure(c.call('netpay/refund', 'v1', { code: 'NO_ORDER' }));
    await umsFailure(c.call('netpay/refund', 'v1', { code: 'DUP_ORDER' }));
    await umsFailure(c.call('netpay/close', 'v1', {}));
    await umsFailure(client({ appKey: 'wrong', onCall: (info) => seen.push(info) }).call('netpay/query', 'v1', {}));
    expect(seen.map((s) => [s.service, s.outcome, s.errCode])).toEqual([
      ['netpay/query', 'ok', 'SUCCESS'],
      ['netpay/refund', 'business-error', 'NO_ORDER'],
      ['netpay/refund', 'unknown', 'DUP_ORDER'],
      ['netpay/close', 'unknown', undefined],
      ['netpay/query', 'error', 'BAD_SIGN'],
    ]);
    expect(seen[0]!.merOrderId).toBe('31940001');
    expect(seen.every((s) => Number.isInteger(s.ms) && s.ms >= 0)).toBe(true);
  });

  it('a throwing hook does not break the call', async () => {
    const c = client({
      onCall: () => {
        throw new Error('metrics down');
      },
    });
    expect((await c.call('netpay/query', 'v1', {})).errCode).toBe('SUCCESS');
  });
});
