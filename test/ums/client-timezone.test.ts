/**
 * A gateway in Los Angeles still speaks Beijing time to UMS: the client runs in a child process
 * with TZ=America/Los_Angeles against a peer in this process, which compares the Authorization
 * timestamp, the token request timestamp and requestTimestamp with its own Beijing clock.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { peerBeijingCompact, startUmsPeer, type UmsPeer } from '../support/ums-peer.js';

const run = promisify(execFile);
const APP_ID = '0123456789abcdef0123456789abcdef';
const APP_KEY = 'tz-test-app-key';

let peer: UmsPeer;
beforeEach(async () => {
  peer = await startUmsPeer({ appId: APP_ID, appKey: APP_KEY });
});
afterEach(async () => {
  await peer.close();
});

/** Minutes between two `yyyyMMddHHmmss` wall-clock readings. */
function minutesApart(a: string, b: string): number {
  const toMs = (s: string) =>
    Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14));
  return Math.abs(toMs(a) - toMs(b)) / 60_000;
}

describe('Beijing time whatever the process zone', () => {
  for (const authMode of ['body-sig', 'token'] as const) {
    it(`${authMode}: TZ=America/Los_Angeles still sends UTC+8 timestamps`, async () => {
      const script = `
        import('./src/ums/client.ts').then(async ({ UmsClient }) => {
          const c = new UmsClient({ baseUrl: process.env.PEER_URL, appId: '${APP_ID}', appKey: '${APP_KEY}', authMode: '${authMode}' });
          const answer = await c.call('netpay/query', 'v1', { merOrderId: '31940001' });
          await c.close();
          process.stdout.write(JSON.stringify({ errCode: answer.errCode, offset: new Date().getTimezoneOffset() }));
        });`;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', script], {
        env: { ...process.env, TZ: 'America/Los_Angeles', PEER_URL: peer.baseUrl },
        encoding: 'utf8',
      });
      const child = JSON.parse(stdout) as { errCode: string; offset: number };
      expect(child.errCode).toBe('SUCCESS');
      expect([420, 480]).toContain(child.offset); // the child really ran in Los Angeles (PDT or PST)

      const beijingNow = peerBeijingCompact(new Date());
      const req = peer.requests[0]!;
      const requestTimestamp = String(req.json?.requestTimestamp);
      expect(requestTimestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(minutesApart(requestTimestamp.replace(/[- :]/g, ''), beijingNow)).toBeLessThan(2);
      if (authMode === 'body-sig') {
        expect(req.auth).toMatchObject({ scheme: 'OPEN-BODY-SIG', ok: true });
        expect(minutesApart((req.auth as { timestamp: string }).timestamp, beijingNow)).toBeLessThan(2);
      } else {
        expect(req.auth).toMatchObject({ scheme: 'OPEN-ACCESS-TOKEN', ok: true });
        expect(minutesApart(String(peer.tokenRequests[0]!.json?.timestamp), beijingNow)).toBeLessThan(2);
      }
    });
  }
});
