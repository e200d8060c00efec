/**
 * The data tag (the seed SDKs' needDataTag, `UMS_DATA_TAG`, `callUms(…, dataTag: true)`): the
 * body goes on the wire as `{"data": {...}}`, signed as sent, and the simulator accepts and
 * unwraps it. Between client and simulator sits a recorder that forwards the exact bytes.
 * Also: an answer whose errCode is SUCCESS but whose resultCode is a failure is a refusal.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, loadConfig } from '../../src/config.js';
import { startSimulator, type UmsSimulator } from '../../src/sim/simulator.js';
import { UmsClient } from '../../src/ums/client.js';
import { UmsBusinessError } from '../../src/ums/errors.js';
import { UmsOperations } from '../../src/ums/operations.js';
import { startUmsPeer } from '../support/ums-peer.js';

interface Recorder {
  url: string;
  bodies: string[];
  server: Server;
}

/** Forwards every request to `target` unchanged and keeps the bodies as they went by. */
async function startRecorder(target: string): Promise<Recorder> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body.toString('utf8'));
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
      void fetch(`${target}${req.url}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : body }).then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

describe('data tag on the wire', () => {
  let sim: UmsSimulator;
  let rec: Recorder;
  beforeAll(async () => {
    sim = await startSimulator({ credentials: { ...DEMO }, notifyBackoffMs: [0] });
    rec = await startRecorder(sim.url);
  });
  afterAll(async () => {
    await new Promise((resolve) => rec.server.close(resolve));
    await sim.close();
  });

  it('UMS_DATA_TAG=true wraps every body; the simulator unwraps it and answers as usual', async () => {
    const config = loadConfig({ UMS_DATA_TAG: 'true' });
    expect(config.umsDataTag).toBe(true);
    const client = UmsClient.fromConfig(config, { baseUrl: rec.url });
    try {
      const ops = new UmsOperations(client, { mid: DEMO.mid, tid: DEMO.tid, sourceId: DEMO.sourceId });
      const merOrderId = `${DEMO.sourceId}${Date.now()}DT1`;
      const created = await ops.createOrder('UNIONPAY_MINI', { merOrderId, totalAmount: 300 });
      expect(created.status).toBe('NEW_ORDER');
      const sent = JSON.parse(rec.bodies.at(-1)!) as Record<string, unknown>;
      expect(Object.keys(sent)).toEqual(['data']);
      expect(sent.data).toMatchObject({ merOrderId, totalAmount: 300, instMid: 'MINIDEFAULT', mid: DEMO.mid });
      expect((await ops.query({ merOrderId }, 'MINIDEFAULT')).status).toBe('NEW_ORDER');
      expect(Object.keys(JSON.parse(rec.bodies.at(-1)!) as object)).toEqual(['data']);
    } finally {
      await client.close();
    }
  });

  it('per call: wrapData true wraps one call of an unwrapped client, false leaves it', async () => {
    const client = UmsClient.fromConfig(loadConfig({}), { baseUrl: rec.url });
    try {
      const merOrderId = `${DEMO.sourceId}${Date.now()}DT2`;
      const body = { mid: DEMO.mid, tid: DEMO.tid, instMid: 'MINIDEFAULT', merOrderId, totalAmount: 100 };
      const answer = await client.call('netpay/uac/mini-order', 'v1', body, { wrapData: true });
      expect(answer.errCode).toBe('SUCCESS');
      expect(JSON.parse(rec.bodies.at(-1)!)).toHaveProperty('data.merOrderId', merOrderId);
      const query = await client.call('netpay/query', 'v1', { mid: DEMO.mid, tid: DEMO.tid, instMid: 'MINIDEFAULT', merOrderId });
      expect(query.status).toBe('NEW_ORDER');
      expect(JSON.parse(rec.bodies.at(-1)!)).toHaveProperty('merOrderId', merOrderId);
    } finally {
      await client.close();
    }
  });
});

describe('resultCode / resultInfo in answers', () => {
  it('a failed resultCode under errCode SUCCESS is a refusal; a successful one is read', async () => {
    const peer = await startUmsPeer({ appId: 'app-1', appKey: 'key-1' });
    const client = new UmsClient({ baseUrl: peer.baseUrl, appId: 'app-1', appKey: 'key-1' });
    try {
      peer.on('/v1/netpay/close', () => ({ json: { errCode: 'SUCCESS', errMsg: '成功', resultCode: 'FAIL', resultInfo: '订单状态不允许关闭' } }));
      const error = await client.call('netpay/close', 'v1', { merOrderId: '3194X1' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UmsBusinessError);
      expect(error).toMatchObject({ errCode: 'FAIL', errMsg: '订单状态不允许关闭', outcomeUnknown: false });
      expect((error as UmsBusinessError).response).toMatchObject({ errCode: 'SUCCESS', resultCode: 'FAIL' });

      peer.on('/v1/netpay/query', () => ({ json: { errCode: 'SUCCESS', resultCode: 'SUCCESS', resultInfo: 'ok', status: 'TRADE_SUCCESS' } }));
      const ops = new UmsOperations(client, { mid: '898201612345678', tid: '88880001' });
      expect(await ops.query({ merOrderId: '3194X2' }, 'MINIDEFAULT')).toMatchObject({ status: 'TRADE_SUCCESS', resultCode: 'SUCCESS', resultInfo: 'ok' });
    } finally {
      await client.close();
      await peer.close();
    }
  });
});
