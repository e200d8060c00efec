/**
 * Figure 4: the UMS client's calls per second against the simulator (in its own process).
 *
 * Gateway: `UmsClient.call('netpay/query')` as the payment commands use it: OPEN-BODY-SIG, one
 * keep-alive undici Pool (16 connections). Baseline: what the seed samples do: the same signed
 * request on a new TCP connection per call (node:http, `agent: false`, `Connection: close`).
 * Both run 16 calls in flight for the same time, in alternating slices; each answer must be
 * errCode SUCCESS.
 */
import { request } from 'node:http';
import { DEMO, loadConfig } from '../src/config.js';
import { UmsClient } from '../src/ums/client.js';
import { merchantFromConfig, UmsOperations } from '../src/ums/operations.js';
import { newNonce, openBodySigHeader } from '../src/ums/sign.js';
import { beijingCompact, beijingDateTime } from '../src/ums/time.js';
import { withChild } from './children.js';
import { figure, type BenchContext, type FigureResult } from './figure.js';

const IN_FLIGHT = 16;
/**
 * A regression guard: keep-alive measured 2.4 to 4.1 × a new connection per call on this machine;
 * below 2 × the pool is no longer reusing its connections (or something per call grew).
 */
const MIN_GAIN = 2;

/** Runs `call` with IN_FLIGHT in flight for `seconds`; calls per second. */
async function rate(seconds: number, call: () => Promise<void>): Promise<number> {
  const started = performance.now();
  const until = started + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) {
        await call();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** The seed's way: sign, open a connection, send, read, close. */
function newConnectionCall(baseUrl: string, body: Record<string, unknown>): Promise<void> {
  const bytes = Buffer.from(JSON.stringify({ ...body, requestTimestamp: beijingDateTime() }), 'utf8');
  const authorization = openBodySigHeader({ appId: DEMO.appId, appKey: DEMO.appKey, timestamp: beijingCompact(), nonce: newNonce(), body: bytes });
  const url = new URL('/v1/netpay/query', baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json; charset=UTF-8', authorization, connection: 'close', 'content-length': bytes.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errCode?: string };
          if (answer.errCode === 'SUCCESS') resolve();
          else reject(new Error(`netpay/query answered ${answer.errCode}`));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

export async function umsClientFigures(context: BenchContext): Promise<FigureResult[]> {
  const config = loadConfig({});
  return withChild({ role: 'sim' }, async (sim) => {
    const client = new UmsClient({ baseUrl: sim.url, appId: config.umsAppId, appKey: config.umsAppKey, connections: IN_FLIGHT });
    try {
      const ops = new UmsOperations(client, merchantFromConfig(config));
      const merOrderId = `3194${context.runTag}U1`;
      await ops.createWechatMini({ merOrderId, totalAmount: 100, subOpenId: 'o-bench-payer' });
      const query = { mid: config.umsMid, tid: config.umsTid, instMid: 'MINIDEFAULT', merOrderId };
      const keepAlive = () => client.call('netpay/query', 'v1', query, { readOnly: true }).then(() => undefined);
      const fresh = () => newConnectionCall(sim.url, query);

      // Alternating slices (see alternate.ts), after one warm-up second each.
      await rate(1, keepAlive);
      await rate(1, fresh);
      const slices = 3;
      const slice = Math.max(1, Math.min(context.seconds, 6) / slices);
      const pooledRates: number[] = [];
      const perCallRates: number[] = [];
      for (let i = 0; i < slices; i++) {
        pooledRates.push(await rate(slice, keepAlive));
        perCallRates.push(await rate(slice, fresh));
      }
      const pooled = pooledRates.reduce((a, b) => a + b, 0) / slices;
      const perCall = perCallRates.reduce((a, b) => a + b, 0) / slices;
      context.log(`UMS client: keep-alive ${pooled.toFixed(0)} calls/s, new connection per call ${perCall.toFixed(0)} calls/s`);
      return [
        figure({
          name: 'UMS client netpay/query (keep-alive pool)',
          value: pooled,
          unit: 'calls/s',
          baseline: 'the same signed call on a new connection each time (seed samples)',
          baselineValue: perCall,
          digits: 0,
          target: `ratio ≥ ${MIN_GAIN}`,
          met: pooled / perCall >= MIN_GAIN,
          notes: `${IN_FLIGHT} calls in flight, simulator in its own process, OPEN-BODY-SIG; ratio > 1: keep-alive is faster`,
        }),
      ];
    } finally {
      await client.close();
    }
  });
}
