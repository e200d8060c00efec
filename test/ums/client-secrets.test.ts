/**
 * Secrets never leak: the appKey, tokens, signatures and Authorization headers appear in no log
 * line (pino output captured from a stream) and in no error a caller can see or print.
 */
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { UmsClient, type UmsClientOptions } from '../../src/ums/client.js';
import { UmsOperations } from '../../src/ums/operations.js';
import { startUmsPeer, type UmsPeer } from '../support/ums-peer.js';

/** Longer than any test: the peer's timer is cleared by close(), so nobody waits for it. */
const NEVER_MS = 600_000;

const APP_ID = 'f00dfeedf00dfeedf00dfeedf00dfeed';
const APP_KEY = 'SuperSecretAppKey_DoNotLeak_42';

let peer: UmsPeer;
let lines: string[];
const clients: UmsClient[] = [];

function capture(): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
}

function client(options: Partial<UmsClientOptions> = {}): UmsClient {
  const c = new UmsClient({
    baseUrl: peer.baseUrl,
    appId: APP_ID,
    appKey: new Secret(APP_KEY),
    logger: createLogger('info', capture()),
    ...options,
  });
  clients.push(c);
  return c;
}

beforeEach(async () => {
  lines = [];
  peer = await startUmsPeer({ appId: APP_ID, appKey: APP_KEY });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await peer.close();
});

/** Every way an error can be shown: message, stack, inspect (with its cause), JSON. */
function renderings(error: unknown): string {
  return [String(error), (error as Error).stack ?? '', inspect(error, { depth: 5 }), JSON.stringify(error)].join('\n');
}

describe('no secret in logs or errors', () => {
  it('logs one structured line per call with service, errCode, ms and merOrderId', async () => {
    await client().call('netpay/query', 'v1', { merOrderId: '31940001ABC' });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: number; msg: string; ums: Record<string, unknown> };
    expect(line.msg).toBe('ums call');
    expect(line.ums).toMatchObject({ service: 'netpay/query', errCode: 'SUCCESS', outcome: 'ok', merOrderId: '31940001ABC' });
    expect(typeof line.ums.ms).toBe('number');
  });

  it('across success, refusals, business errors, timeouts and token mode', async () => {
    const errors: unknown[] = [];
    const attempt = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (error) {
        errors.push(error);
      }
    };
    peer.on('/v1/netpay/refund', () => ({ json: { errCode: 'DUP_ORDER', errMsg: '重复' } }));
    peer.on('/v1/netpay/close', () => ({ delayHeadersMs: NEVER_MS, json: {} }));
    peer.on('/v1/netpay/bills/query', () => ({ status: 502, text: 'bad gateway' }));

    const bodySig = client({ headersTimeoutMs: 150 });
    await attempt(bodySig.call('netpay/query', 'v1', { merOrderId: '31940001' }));
    await attempt(bodySig.call('netpay/refund', 'v1', { merOrderId: '31940001' }));
    await attempt(bodySig.call('netpay/close', 'v1', { merOrderId: '31940001' }));
    await attempt(bodySig.call('netpay/bills/query', 'v1', {}));
    await attempt(client({ appKey: 'wrong-key' }).call('netpay/query', 'v1', {}));

    const token = client({ authMode: 'token' });
    await attempt(token.call('netpay/query', 'v1', {}));
    peer.revokeTokens();
    await attempt(token.call('netpay/query', 'v1', {}));
    peer.refuseAllTokens = true;
    await attempt(token.call('netpay/query', 'v1', {}));
    peer.tokenReply = { json: { errCode: '1001', errInfo: 'bad' } };
    await attempt(client({ authMode: 'token' }).call('netpay/query', 'v1', {}));

    // the scenario really produced failures of every kind, and a line for each call
    expect(errors.map((e) => (e as Error).name).sort()).toEqual([
      'UmsAuthError',
      'UmsAuthError',
      'UmsAuthError',
      'UmsBusinessError',
      'UmsTransportError',
      'UmsTransportError',
    ]);
    expect(lines).toHaveLength(9);
    expect(peer.issuedTokens.length).toBeGreaterThanOrEqual(3);
    // A failed call's line names the error's class (pino's err serializer would say 'Object').
    const failed = lines.map((l) => JSON.parse(l) as { msg: string; callError?: { type: string; message: string } }).filter((l) => l.msg === 'ums call failed');
    expect(failed.map((l) => l.callError?.type).sort()).toEqual(errors.map((e) => (e as Error).name).sort());

    const secrets = [APP_KEY, ...peer.issuedTokens];
    for (const req of [...peer.requests, ...peer.tokenRequests]) {
      if (req.headers.authorization) secrets.push(req.headers.authorization);
      if (req.auth.scheme === 'OPEN-BODY-SIG') secrets.push(req.auth.signature);
      if (typeof req.json?.signature === 'string') secrets.push(req.json.signature);
    }
    const seen = [...lines, ...errors.map(renderings)].join('\n');
    for (const secret of secrets) expect(seen).not.toContain(secret);
    expect(seen).not.toMatch(/OPEN-BODY-SIG|OPEN-ACCESS-TOKEN|AccessToken=|Signature=/);
  });

  it('a printed client or operations object shows no appKey', () => {
    const c = client();
    const ops = new UmsOperations(c, { mid: '898201612345678', tid: '88880001' });
    const text = [inspect(c, { depth: 5 }), JSON.stringify(c), inspect(ops, { depth: 5 }), JSON.stringify(ops)].join('\n');
    expect(text).not.toContain(APP_KEY);
  });
});
