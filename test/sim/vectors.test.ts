/**
 * The simulator against the team's independent vectors (shared/ums/vectors.json): requests built
 * by other implementations, byte for byte, must be accepted, and their one-byte variants refused.
 * The simulator's clock is pinned to each vector's timestamp.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type UmsSimulator } from '../../src/sim/simulator.js';
import { vectors } from '../support/vectors.js';
import { rawPost } from './support/raw.js';

const V = (id: string) => {
  const v = vectors.find((x) => x.id === id);
  if (!v) throw new Error(`vector ${id} missing`);
  return v as { input: Record<string, string>; expected: Record<string, unknown> };
};

// The merchant the vectors were computed for.
const VECTOR_CREDS = {
  appId: '8a8f3c2e71b04d5c9e6f1a2b3c4d5e6f',
  appKey: '4d7e9f1a2b3c4d5e6f7a8b9c0d1e2f3a',
  notifyKey: 'Wm3kQ7pZt9RvX2cY8bN4dF6hJ1gL5sA0eU3iO7yT2rE9',
  sourceId: '3A9K',
  mid: '898310060514001',
  tid: '00000001',
};

/** Beijing `yyyyMMddHHmmss` → the instant. */
function at(compact: string): Date {
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((i, k) => Number(compact.slice(i, k === 0 ? 4 : i + 2)));
  return new Date(Date.UTC(y!, mo! - 1, d!, h! - 8, mi!, s!));
}

let sim: UmsSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function simAt(timestamp: string): Promise<UmsSimulator> {
  sim = await startSimulator({ credentials: VECTOR_CREDS, notifyBackoffMs: [0], now: () => new Date(at(timestamp).getTime() + 2000) });
  return sim;
}

describe('OPEN-BODY-SIG vectors', () => {
  it('OBS-02: the mini-program order with its exact header is accepted and creates the order', async () => {
    const v = V('OBS-02-mini-order');
    const s = await simAt(v.input.timestamp!);
    const a = await rawPost(`${s.url}/v1/netpay/wx/unified-order`, v.input.body!, v.expected.authorization as string);
    expect(a.json).toMatchObject({ errCode: 'SUCCESS', merOrderId: '3A9K20240618103015123', totalAmount: 1250 });
    expect(a.json.miniPayRequest).toMatchObject({ appId: 'wx1a2b3c4d5e6f7a8b' });
  });

  it('OBS-02 with one byte changed, or a different nonce, is BAD_SIGN', async () => {
    const v = V('OBS-02-mini-order');
    const s = await simAt(v.input.timestamp!);
    const header = v.expected.authorization as string;
    const changed = await rawPost(`${s.url}/v1/netpay/wx/unified-order`, v.input.body!.replace('1250', '1251'), header);
    expect(changed.json.errCode).toBe('BAD_SIGN');
    const otherNonce = await rawPost(`${s.url}/v1/netpay/wx/unified-order`, v.input.body!, header.replace(v.input.nonce!, '0'.repeat(32)));
    expect(otherNonce.json.errCode).toBe('BAD_SIGN');
  });

  it('OBS-02 eleven minutes later is ABNORMAL_REQUEST_TIME', async () => {
    const v = V('OBS-02-mini-order');
    sim = await startSimulator({ credentials: VECTOR_CREDS, now: () => new Date(at(v.input.timestamp!).getTime() + 11 * 60_000) });
    const a = await rawPost(`${sim.url}/v1/netpay/wx/unified-order`, v.input.body!, v.expected.authorization as string);
    expect(a.json.errCode).toBe('ABNORMAL_REQUEST_TIME');
  });

  it('OBS-03: the bills query bytes authenticate; the other serialisation of the same JSON does not', async () => {
    const v = V('OBS-03-bytes-not-json') as { input: Record<string, string>; expected: Record<string, unknown>; contrast?: { body: string } };
    const s = await simAt(v.input.timestamp!);
    const header = v.expected.authorization as string;
    const a = await rawPost(`${s.url}/v1/netpay/bills/query`, v.input.body!, header);
    expect(a.json.errCode).toBe('NO_ORDER');
    const contrast = (vectors.find((x) => x.id === 'OBS-03-bytes-not-json')!.contrast)!.body;
    const b = await rawPost(`${s.url}/v1/netpay/bills/query`, contrast, header);
    expect(b.json.errCode).toBe('BAD_SIGN');
  });

  it('OBS-04: an empty body with the one-character nonce authenticates (and is then a bad request)', async () => {
    const v = V('OBS-04-empty-body');
    const s = await simAt(v.input.timestamp!);
    const a = await rawPost(`${s.url}/v1/netpay/query`, '', v.expected.authorization as string);
    expect(a.status).toBe(200);
    expect(a.json.errCode).toBe('BAD_REQUEST');
  });
});

describe('OPEN-FORM-PARAM vector', () => {
  it('OFP-01: the H5 URL redirects to the cashier with the order as signed', async () => {
    const v = V('OFP-01-h5-pay-url');
    const s = await simAt(v.input.timestamp!);
    const url = (v.expected.url as string).replace('https://test-api-open.chinaums.com', s.url);
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(s.order('3A9K20240618120000456')).toMatchObject({ totalAmount: 990, instMid: 'H5DEFAULT', channel: 'Alipay H5' });
    // Decoding '+' as a plus instead of a space changes the content, and so the signature.
    const broken = await fetch(url.replace('A%26B%3DC+', 'A%26B%3DC%2B'), { redirect: 'manual' });
    expect(broken.status).toBe(401);
  });
});

describe('token vectors', () => {
  it('TOK-01 (SHA256) and TOK-02 (legacy SHA-1) request bodies get a token', async () => {
    for (const id of ['TOK-01-sha256', 'TOK-02-legacy-sha1']) {
      const v = V(id);
      const s = await simAt(v.input.timestamp!);
      const a = await rawPost(`${s.url}/v1/token/access`, v.expected.requestBody as string);
      expect(a.json, id).toMatchObject({ errCode: '0000', expiresIn: 3600 });
      const token = a.json.accessToken as string;
      const body = JSON.stringify({ requestTimestamp: '2024-06-18 09:00:00', mid: VECTOR_CREDS.mid, tid: VECTOR_CREDS.tid, instMid: 'MINIDEFAULT', merOrderId: '3A9K20240618090000001' });
      const q = await rawPost(`${s.url}/v1/netpay/query`, body, `OPEN-ACCESS-TOKEN AccessToken=${token}`);
      expect(q.json.errCode).toBe('NO_ORDER');
      await s.close();
      sim = undefined;
    }
  });
});
