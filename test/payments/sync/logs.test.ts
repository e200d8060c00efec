/**
 * One structured line per UMS call, and never a key or a signature in any line. Drives
 * every command and a scheduler round with the logger at `trace`, then reads every line written.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { startSyncScheduler } from '../../../src/payments/sync/scheduler.js';
import { pgliteDatabase } from '../../support/db.js';
import { WECHAT, startSlice, type Slice } from './harness.js';

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

let s: Slice;
beforeAll(async () => {
  s = await startSlice(await pgliteDatabase(), { syncAfterMs: 50, log: createLogger('trace', sink) });
});
afterAll(async () => {
  await s?.close();
  await s?.database.close();
});

it('logs UMS calls with merOrderId, service, errCode and latency, and never a key or a signature', async () => {
  const log = createLogger('trace', sink);
  const { payment } = await s.service.create({ ...WECHAT, totalAmount: 100 }, {});
  const h5 = await s.service.create({ channel: 'H5_UNIONPAY', totalAmount: 100 }, {});
  await s.service.create({ channel: 'QR_CODE', totalAmount: 100 }, {});
  await s.service.simulatePayment!(payment.merOrderId, 'TRADE_SUCCESS');
  await s.service.refund({ merOrderId: payment.merOrderId, refundAmount: 10 }, { idempotencyKey: 'log-test' });
  await s.service.callUms('netpay/query', 'v1', { mid: DEMO.mid, tid: DEMO.tid, instMid: 'MINIDEFAULT', merOrderId: '3194NOSUCHORDER9' });
  // The scheduler's clock is past the quiet period at once, as if 80 ms had gone by.
  const now = () => new Date(Date.now() + 80);
  const scheduler = startSyncScheduler({ db: s.database.db, commands: s.service, config: { afterMs: 50, intervalMs: 50, autoStart: false }, log, now });
  await scheduler.runOnce();
  await scheduler.stop();

  const calls = lines
    .map((l) => (JSON.parse(l) as { ums?: Record<string, unknown> }).ums)
    .filter((c): c is Record<string, unknown> => c !== undefined);
  const created = calls.find((c) => c.merOrderId === payment.merOrderId && String(c.service).includes('unified-order'));
  expect(created).toMatchObject({ errCode: 'SUCCESS', outcome: 'ok' });
  expect(typeof created?.ms).toBe('number');
  expect(calls.some((c) => c.errCode === 'NO_ORDER')).toBe(true);

  const signature = new URL(h5.payUrl!).searchParams.get('signature')!;
  const notificationSigns = s.sim.deliveries.map((d) => d.fields.sign).filter((x): x is string => Boolean(x));
  expect(notificationSigns.length).toBeGreaterThan(0);
  const secrets = [DEMO.appKey, DEMO.notifyKey, signature, ...notificationSigns];
  const text = lines.join('\n');
  expect(lines.length).toBeGreaterThan(5);
  for (const secret of secrets) expect(text).not.toContain(secret);
  expect(text).not.toMatch(/OPEN-BODY-SIG|OPEN-ACCESS-TOKEN|Signature=/);
});
