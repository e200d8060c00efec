/**
 * Slow clients (slow-loris): a connection that sends its request head too slowly, or its whole
 * request too slowly, is closed near the limit instead of holding a socket for ever.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { buildServer, HTTP_TIMEOUTS } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { freePort } from './support.js';

/** Opens a raw socket and resolves with what the server wrote and how long until it closed. */
function dribble(url: string, head: string, body?: { every: number; bytes: string }): Promise<{ ms: number; answer: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answer = '';
    const socket: Socket = connect(Number(port), hostname);
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(head);
      // One more byte now and then: never the end of the head (or body), always a sign of life.
      timer = setInterval(() => socket.write(body?.bytes ?? 'x'), body?.every ?? 300);
    });
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - started, answer });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error('the slow connection was never closed'));
    }, 20_000).unref();
  });
}

describe('HTTP timeouts', () => {
  let gw: Gateway;
  beforeAll(async () => {
    const config = loadConfig({ PORT: String(await freePort()), UMS_SIM_PORT: String(await freePort()), PGLITE_DATA_DIR: 'memory://' });
    gw = await startGateway(config, {
      log: createLogger('silent'),
      defaultMetrics: false,
      scheduler: false,
      // Small limits to keep the test short; the defaults are checked below.
      httpTimeouts: { headersMs: 1_000, requestMs: 2_500, checkEveryMs: 200 },
    });
  });
  afterAll(() => gw?.close());

  it('defaults to 10 s for the head and 30 s for the request, checked every second', async () => {
    expect(HTTP_TIMEOUTS).toEqual({ headersMs: 10_000, requestMs: 30_000, checkEveryMs: 1_000 });
    const app = await buildServer({ log: createLogger('silent'), ready: async () => true });
    expect([app.server.headersTimeout, app.server.requestTimeout]).toEqual([10_000, 30_000]);
    await app.close();
  });

  it('closes a connection that dribbles its request head', async () => {
    const { ms, answer } = await dribble(gw.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(1_000 + 3_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection that dribbles its body', async () => {
    const head = 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{';
    const { ms, answer } = await dribble(gw.url, head, { every: 200, bytes: ' ' });
    expect(ms).toBeGreaterThanOrEqual(2_400);
    expect(ms).toBeLessThan(2_500 + 3_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('still serves a prompt request on the same server', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});
