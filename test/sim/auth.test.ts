/**
 * The simulator refuses what UMS refuses (PROTOCOL.md §1–§3): OPEN-BODY-SIG over the exact bytes,
 * a tolerant header parse, clock skew, access tokens and their expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, createMiniOrder, type Fixture } from './support/fixture.js';
import { CREDS, beijing, bodySigHeader, call, fetchToken, orderId, rawPost, withCommon } from './support/raw.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture({ tokenTtlMs: 60_000 });
});
afterAll(async () => fx.close());

const queryBody = () => JSON.stringify(withCommon({ instMid: 'MINIDEFAULT', merOrderId: orderId() }));

describe('OPEN-BODY-SIG', () => {
  it('accepts a correctly signed request and answers the business result', async () => {
    const { answer } = await createMiniOrder(fx.sim, undefined);
    expect(answer.status).toBe(200);
    expect(answer.json.errCode).toBe('SUCCESS');
  });

  it.each(['standard', 'no-space', 'lower-unquoted'] as const)('parses the %s header spelling', async (style) => {
    const body = queryBody();
    const a = await rawPost(`${fx.sim.url}/v1/netpay/query`, body, bodySigHeader(body, { style }));
    // Authenticated: the order simply does not exist.
    expect(a.json.errCode).toBe('NO_ORDER');
  });

  it('refuses a body changed after signing (same JSON value, other bytes)', async () => {
    const fields = withCommon({ instMid: 'MINIDEFAULT', merOrderId: orderId() });
    const signed = JSON.stringify(fields);
    const sent = JSON.stringify(fields, null, 1);
    const a = await rawPost(`${fx.sim.url}/v1/netpay/query`, sent, bodySigHeader(signed));
    expect(a.status).toBe(401);
    expect(a.json.errCode).toBe('BAD_SIGN');
  });

  it('signs the bytes, so \\u-escaped Chinese is fine when it is what was signed', async () => {
    const body = JSON.stringify(withCommon({ instMid: 'MINIDEFAULT', merOrderId: orderId(), orderDesc: '咖啡' })).replace(
      /[\u0080-\uffff]/g,
      (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
    );
    const a = await rawPost(`${fx.sim.url}/v1/netpay/query`, body, bodySigHeader(body));
    expect(a.json.errCode).toBe('NO_ORDER');
  });

  it('refuses a wrong appKey, an unknown appId, a missing or foreign header', async () => {
    const body = queryBody();
    const url = `${fx.sim.url}/v1/netpay/query`;
    for (const auth of [
      bodySigHeader(body, { appKey: 'not-the-key' }),
      bodySigHeader(body, { appId: 'someone-else' }),
      undefined,
      'Bearer abc',
      'OPEN-BODY-SIG AppId="x"',
    ]) {
      const a = await rawPost(url, body, auth);
      expect(a.status, String(auth)).toBe(401);
      expect(a.json.errCode).toBe('BAD_SIGN');
    }
  });

  it('refuses a timestamp more than 10 minutes off with ABNORMAL_REQUEST_TIME, accepts 9 minutes', async () => {
    const body = queryBody();
    const url = `${fx.sim.url}/v1/netpay/query`;
    const late = await rawPost(url, body, bodySigHeader(body, { at: new Date(Date.now() - 11 * 60_000) }));
    expect(late.status).toBe(401);
    expect(late.json.errCode).toBe('ABNORMAL_REQUEST_TIME');
    const early = await rawPost(url, body, bodySigHeader(body, { at: new Date(Date.now() + 11 * 60_000) }));
    expect(early.json.errCode).toBe('ABNORMAL_REQUEST_TIME');
    const ok = await rawPost(url, body, bodySigHeader(body, { at: new Date(Date.now() - 9 * 60_000) }));
    expect(ok.json.errCode).toBe('NO_ORDER');
  });

  it('answers an unknown service with 404 NO_SERVICE', async () => {
    const a = await call(fx.sim.url, '/v1/netpay/nope', {});
    expect(a.status).toBe(404);
    expect(a.json.errCode).toBe('NO_SERVICE');
  });
});

describe('OPEN-ACCESS-TOKEN', () => {
  it('issues a token for a SHA256-signed request and accepts it quoted or not', async () => {
    const t = await fetchToken(fx.sim.url);
    expect(t.status).toBe(200);
    expect(t.json).toMatchObject({ errCode: '0000', expiresIn: 60 });
    const token = t.json.accessToken as string;
    for (const header of [`OPEN-ACCESS-TOKEN AccessToken=${token}`, `OPEN-ACCESS-TOKEN AccessToken="${token}"`]) {
      const a = await rawPost(`${fx.sim.url}/v1/netpay/query`, queryBody(), header);
      expect(a.json.errCode).toBe('NO_ORDER');
    }
  });

  it('accepts the legacy SHA-1 token request without signMethod', async () => {
    const t = await fetchToken(fx.sim.url, { method: 'SHA1' });
    expect(t.json.errCode).toBe('0000');
  });

  it('refuses a token request signed with the wrong key or an old timestamp', async () => {
    const wrong = await fetchToken(fx.sim.url, { appKey: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.errCode).toBe('BAD_SIGN');
    expect(wrong.json.accessToken).toBeUndefined();
    const old = await fetchToken(fx.sim.url, { at: new Date(Date.now() - 3600_000) });
    expect(old.json.errCode).toBe('ABNORMAL_REQUEST_TIME');
  });

  it('refuses an unknown token and an expired one', async () => {
    const unknown = await rawPost(`${fx.sim.url}/v1/netpay/query`, queryBody(), 'OPEN-ACCESS-TOKEN AccessToken=deadbeef');
    expect(unknown.status).toBe(401);
    expect(unknown.json.errCode).toBe('BAD_SIGN');
    const token = (await fetchToken(fx.sim.url)).json.accessToken as string;
    expect(fx.sim.expireTokens()).toBeGreaterThan(0);
    const expired = await rawPost(`${fx.sim.url}/v1/netpay/query`, queryBody(), `OPEN-ACCESS-TOKEN AccessToken=${token}`);
    expect(expired.status).toBe(401);
    expect(expired.json.errInfo).toMatch(/expired/);
  });

  it('lets a token expire on its own after its lifetime', async () => {
    let now = Date.now();
    const local = await startFixture({ tokenTtlMs: 1000, now: () => new Date(now) });
    try {
      const token = (await fetchToken(local.sim.url)).json.accessToken as string;
      const header = `OPEN-ACCESS-TOKEN AccessToken=${token}`;
      expect((await rawPost(`${local.sim.url}/v1/netpay/query`, queryBody(), header)).json.errCode).toBe('NO_ORDER');
      now += 1500;
      expect((await rawPost(`${local.sim.url}/v1/netpay/query`, queryBody(), header)).json.errCode).toBe('BAD_SIGN');
    } finally {
      await local.close();
    }
  });
});

describe('request checks of §5.1', () => {
  const mini = (extra: Record<string, unknown>) =>
    call(fx.sim.url, '/v1/netpay/wx/unified-order', {
      instMid: 'MINIDEFAULT', tradeType: 'MINI', subAppId: 'wx1', subOpenId: 'o1', merOrderId: orderId(), totalAmount: 100, ...extra,
    });

  it('refuses a merOrderId without the source prefix, outside 6..64 characters, or not alphanumeric', async () => {
    expect((await mini({ merOrderId: '9999' + beijing().compact })).json).toMatchObject({ errCode: 'INVALID_ORDER' });
    expect((await mini({ merOrderId: CREDS.sourceId + '1' })).json.errCode).toBe('INVALID_ORDER');
    expect((await mini({ merOrderId: CREDS.sourceId + 'x'.repeat(61) })).json.errCode).toBe('INVALID_ORDER');
    expect((await mini({ merOrderId: CREDS.sourceId + '2024_06_18' })).json.errCode).toBe('INVALID_ORDER');
  });

  it('accepts the ids real UMS accepts: 6 characters, and the 29- and 36-character ids of sandbox answers, up to 64 (PROTOCOL.md §5.1)', async () => {
    const stamp = beijing().compact + String(Date.now() % 1000).padStart(3, '0');
    for (const merOrderId of [CREDS.sourceId + 'Ab', CREDS.sourceId + stamp + 'AbCdEfGh', CREDS.sourceId + stamp + 'AbCdEfGhIjKlMnO', (CREDS.sourceId + stamp).padEnd(64, 'z')]) {
      const answer = await mini({ merOrderId });
      expect(answer.json, merOrderId).toMatchObject({ errCode: 'SUCCESS', merOrderId });
    }
    const paid = CREDS.sourceId + stamp + 'RefundSource1234';
    expect((await mini({ merOrderId: paid })).json.errCode).toBe('SUCCESS');
    fx.sim.pay(paid, { notify: false });
    const refundOrderId = CREDS.sourceId + stamp + 'RefundOrder12345';
    expect(refundOrderId).toHaveLength(37);
    const refund = await call(fx.sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId: paid, refundOrderId, refundAmount: 1 });
    expect(refund.json).toMatchObject({ errCode: 'SUCCESS', refundOrderId });
  });

  it('refuses the wrong instMid for the API, missing fields, bad amounts and times', async () => {
    expect((await mini({ instMid: 'H5DEFAULT' })).json.errCode).toBe('BAD_REQUEST');
    expect((await mini({ subOpenId: undefined })).json.errCode).toBe('BAD_REQUEST');
    expect((await mini({ tradeType: 'JSAPI' })).json.errCode).toBe('BAD_REQUEST'); // JSAPI needs YUEDANDEFAULT
    expect((await mini({ totalAmount: 0 })).json.errCode).toBe('BAD_REQUEST');
    expect((await mini({ totalAmount: 12.5 })).json.errCode).toBe('BAD_REQUEST');
    expect((await mini({ totalAmount: '1250' })).json.errCode).toBe('SUCCESS');
    expect((await mini({ requestTimestamp: beijing().compact })).json.errCode).toBe('BAD_REQUEST');
    expect((await mini({ expireTime: '2020-01-01 00:00:00' })).json.errCode).toBe('BAD_REQUEST');
  });

  it('refuses another merchant: NO_MERCHANT', async () => {
    expect((await mini({ mid: '898000000000000' })).json.errCode).toBe('NO_MERCHANT');
    expect((await mini({ tid: '99999999' })).json.errCode).toBe('NO_MERCHANT');
  });

  it('refuses a body that is not JSON but is correctly signed', async () => {
    const body = 'merOrderId=1';
    const a = await rawPost(`${fx.sim.url}/v1/netpay/query`, body, bodySigHeader(body));
    expect(a.json.errCode).toBe('BAD_REQUEST');
  });

  it('accepts the business fields wrapped as {"data": {...}}', async () => {
    const body = JSON.stringify({ data: withCommon({ instMid: 'MINIDEFAULT', merOrderId: orderId() }) });
    const a = await rawPost(`${fx.sim.url}/v1/netpay/query`, body, bodySigHeader(body));
    expect(a.json.errCode).toBe('NO_ORDER');
  });
});
