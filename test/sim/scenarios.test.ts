/**
 * Every scenario control, through the programmatic API and the `/_sim/scenarios` endpoint.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyNotifySign } from '../../src/ums/sign.js';
import { createMiniOrder, startFixture, type Fixture } from './support/fixture.js';
import { CREDS, call, fetchToken, orderId, rawPost } from './support/raw.js';
import { PROTOCOL_OUTCOME_UNKNOWN_ERR_CODES } from '../ums/protocol.js';

let fx: Fixture;
beforeEach(async () => {
  fx = await startFixture();
});
afterEach(async () => fx.close());

const postScenario = (body: unknown) => rawPost(`${fx.sim.url}/_sim/scenarios`, JSON.stringify(body));

describe('notification scenarios', () => {
  it('duplicate: the same notification arrives twice, the copy after the first was answered', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    expect((await postScenario({ kind: 'duplicate', merOrderId })).status).toBe(201);
    fx.sim.pay(merOrderId);
    const [a, b] = await fx.receiver.waitFor(2);
    expect(b!.body).toBe(a!.body);
    expect(b!.fields.notifyId).toBe(a!.fields.notifyId);
    expect(fx.sim.deliveries.map((d) => d.scenario)).toEqual(['duplicate', 'duplicate']);
  });

  it('concurrent: copies arrive at the same time, before any answer', async () => {
    // No answer leaves the merchant until all three copies are in: copies sent one after the
    // other would wait for an answer that never comes, and waitFor(3) would fail.
    const allIn = fx.receiver.waitFor(3);
    fx.receiver.answer = () => ({ body: 'SUCCESS', after: allIn });
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.scenario({ kind: 'concurrent', copies: 3 });
    fx.sim.pay(merOrderId);
    const got = await allIn;
    expect(fx.sim.deliveries.flatMap((d) => d.attempts)).toHaveLength(0);
    expect(new Set(got.map((r) => r.fields.notifyId)).size).toBe(1);
    const settled = await Promise.all(fx.sim.deliveries.map((d) => fx.sim.waitForDelivery((x) => x === d)));
    expect(settled.map((d) => d.state)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('stale: after TRADE_SUCCESS, the older WAIT_BUYER_PAY arrives, validly signed', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.scenario({ kind: 'stale', merOrderId });
    fx.sim.pay(merOrderId);
    const [newer, older] = await fx.receiver.waitFor(2);
    expect(newer!.fields.status).toBe('TRADE_SUCCESS');
    expect(older!.fields.status).toBe('WAIT_BUYER_PAY');
    expect(older!.fields.notifyId).not.toBe(newer!.fields.notifyId);
    expect(verifyNotifySign(older!.fields, [CREDS.notifyKey]).ok).toBe(true);
  });

  it('stale after a refund: TRADE_SUCCESS arrives after TRADE_REFUND', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.pay(merOrderId);
    await fx.receiver.waitFor(1);
    fx.sim.scenario({ kind: 'stale', merOrderId });
    await call(fx.sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId: orderId(), refundAmount: 100 });
    const got = await fx.receiver.waitFor(3);
    expect(got.map((r) => r.fields.status)).toEqual(['TRADE_SUCCESS', 'TRADE_REFUND', 'TRADE_SUCCESS']);
  });

  it('wrong-key: the notification fails verification with the real key on every attempt', async () => {
    fx.receiver.answer = (_n, r) => ({ status: verifyNotifySign(r.fields, [CREDS.notifyKey]).ok ? 200 : 400, body: verifyNotifySign(r.fields, [CREDS.notifyKey]).ok ? 'SUCCESS' : 'FAILED' });
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.scenario({ kind: 'wrong-key' });
    fx.sim.pay(merOrderId);
    const d = await fx.sim.waitForDelivery((x) => x.merOrderId === merOrderId);
    expect(d.state).toBe('gave-up');
    expect(d.attempts.map((a) => a.httpStatus)).toEqual([400, 400, 400]);
    // Used up: the next notification is genuine again.
    const { merOrderId: next } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.pay(next);
    expect((await fx.sim.waitForDelivery((x) => x.merOrderId === next)).state).toBe('delivered');
  });

  it('delay: the first attempt waits delayMs', async () => {
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.scenario({ kind: 'delay', delayMs: 150, merOrderId });
    const paidAt = Date.now();
    fx.sim.pay(merOrderId);
    // A lower bound only: a loaded machine makes it later, never earlier.
    const [got] = await fx.receiver.waitFor(1);
    expect(got!.at - paidAt).toBeGreaterThanOrEqual(140);
  });

  it('applies only to the named order', async () => {
    const a = await createMiniOrder(fx.sim, fx.receiver.url);
    const b = await createMiniOrder(fx.sim, fx.receiver.url);
    fx.sim.scenario({ kind: 'duplicate', merOrderId: b.merOrderId });
    fx.sim.pay(a.merOrderId);
    // A duplicate is queued the moment its original settles, so once a's delivery has settled
    // the list of deliveries is final for a.
    await fx.sim.waitForDelivery((d) => d.merOrderId === a.merOrderId);
    expect(fx.sim.deliveries.filter((d) => d.merOrderId === a.merOrderId)).toHaveLength(1);
    fx.sim.pay(b.merOrderId);
    await fx.receiver.waitFor(3);
    expect(fx.sim.deliveries.map((d) => [d.merOrderId, d.scenario])).toEqual([
      [a.merOrderId, undefined],
      [b.merOrderId, 'duplicate'],
      [b.merOrderId, 'duplicate'],
    ]);
  });
});

describe('API scenarios', () => {
  const query = () => call(fx.sim.url, '/v1/netpay/query', { instMid: 'MINIDEFAULT', merOrderId: orderId() });

  it('slow: the next N calls answer after delayMs, then calls are fast again', async () => {
    // Long enough that the fast call's bound is generous on a loaded machine; the two slow calls
    // run side by side, so the test waits delayMs once.
    const delayMs = 1_500;
    fx.sim.scenario({ kind: 'slow', delayMs, count: 2 });
    const timed = async () => {
      const t = Date.now();
      const answer = await query();
      return { errCode: answer.json.errCode, ms: Date.now() - t };
    };
    const slow = await Promise.all([timed(), timed()]);
    for (const s of slow) {
      expect(s.errCode).toBe('NO_ORDER');
      expect(s.ms).toBeGreaterThanOrEqual(delayMs - 10);
    }
    expect(await fetch(`${fx.sim.url}/_sim/scenarios`).then((r) => r.json())).toEqual({ scenarios: [] });
    const fast = await timed();
    expect(fast.errCode).toBe('NO_ORDER');
    expect(fast.ms).toBeLessThan(delayMs);
  });

  it('http-error: the next N calls get a plain 5xx; by default nothing happened', async () => {
    await postScenario({ kind: 'http-error', status: 502, count: 2 });
    const merOrderId = orderId();
    const first = await createMiniOrder(fx.sim, undefined, { merOrderId });
    expect(first.answer.status).toBe(502);
    expect(first.answer.json).toEqual({});
    expect(first.answer.text).toMatch(/502/);
    expect((await query()).status).toBe(502);
    expect(fx.sim.order(merOrderId)).toBeUndefined();
    expect((await query()).status).toBe(200);
  });

  it('http-error with apply: the order exists although the client saw 503', async () => {
    fx.sim.scenario({ kind: 'http-error', apply: true });
    const merOrderId = orderId();
    expect((await createMiniOrder(fx.sim, undefined, { merOrderId })).answer.status).toBe(503);
    expect(fx.sim.order(merOrderId)?.status).toBe('NEW_ORDER');
  });

  it('errcode: an ambiguous errCode; by default the call took effect', async () => {
    fx.sim.scenario({ kind: 'errcode', errCode: 'ORDER_PROCESSING', path: '/v1/netpay/wx/unified-order' });
    // Other paths are untouched.
    expect((await query()).json.errCode).toBe('NO_ORDER');
    const merOrderId = orderId();
    const { answer } = await createMiniOrder(fx.sim, undefined, { merOrderId });
    expect(answer.json).toMatchObject({ errCode: 'ORDER_PROCESSING', mid: CREDS.mid });
    expect(answer.json.miniPayRequest).toBeUndefined();
    expect(fx.sim.order(merOrderId)?.status).toBe('NEW_ORDER');
  });

  it('errcode without apply: nothing happened', async () => {
    fx.sim.scenario({ kind: 'errcode', errCode: 'TIMEOUT', apply: false });
    const merOrderId = orderId();
    expect((await createMiniOrder(fx.sim, undefined, { merOrderId })).answer.json.errCode).toBe('TIMEOUT');
    expect(fx.sim.order(merOrderId)).toBeUndefined();
  });

  it('reaches the token endpoint only when aimed at it', async () => {
    fx.sim.scenario({ kind: 'errcode' });
    expect((await fetchToken(fx.sim.url)).json.errCode).toBe('0000');
    fx.sim.scenario({ kind: 'http-error', path: '/v1/token/access' });
    expect((await fetchToken(fx.sim.url)).status).toBe(503);
    expect((await fetchToken(fx.sim.url)).json.errCode).toBe('0000');
    // The unscoped errcode scenario is still waiting for a business call.
    expect((await query()).json.errCode).toBe('ORDER_PROCESSING');
  });

  it('does not touch requests that fail authentication', async () => {
    fx.sim.scenario({ kind: 'errcode' });
    const bad = await call(fx.sim.url, '/v1/netpay/query', { instMid: 'MINIDEFAULT', merOrderId: orderId() }, { appKey: 'x' });
    expect(bad.json.errCode).toBe('BAD_SIGN');
    expect((await query()).json.errCode).toBe('ORDER_PROCESSING');
  });
});

describe('the /_sim/scenarios endpoint', () => {
  it('plays exactly the errCodes PROTOCOL.md §5.1 leaves ambiguous, the ones the client treats as outcome unknown', async () => {
    for (const errCode of PROTOCOL_OUTCOME_UNKNOWN_ERR_CODES) {
      expect((await postScenario({ kind: 'errcode', errCode })).status, errCode).toBe(201);
    }
    for (const errCode of ['UNKNOWN_ERROR', 'NO_ORDER', 'BAD_REQUEST']) {
      expect((await postScenario({ kind: 'errcode', errCode })).status, errCode).toBe(400);
    }
  });

  it('lists, validates and clears scenarios', async () => {
    const added = await postScenario({ kind: 'slow', delayMs: 10, count: 3, path: '/v1/netpay/query' });
    expect(added.json).toMatchObject({ id: 1, remaining: 3, scenario: { kind: 'slow', delayMs: 10, count: 3 } });
    const listed = await fetch(`${fx.sim.url}/_sim/scenarios`).then((r) => r.json() as Promise<{ scenarios: unknown[] }>);
    expect(listed.scenarios).toHaveLength(1);
    const bad = await postScenario({ kind: 'errcode', errCode: 'SUCCESS' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/errCode/);
    expect((await postScenario({ kind: 'nope' })).status).toBe(400);
    const cleared = await fetch(`${fx.sim.url}/_sim/scenarios`, { method: 'DELETE' });
    expect(cleared.status).toBe(200);
    expect(fx.sim.deliveries).toHaveLength(0);
  });
});
