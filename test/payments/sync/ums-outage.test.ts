/**
 * A UMS that cannot be reached shows where operators look: a round whose every question failed
 * says so (warn, with the error codes counted), the metrics show UMS unreachable and the failed
 * questions, and the database's readiness is untouched.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { DEMO } from '../../../src/config.js';
import { createMetrics, observeSyncRound, observeUmsCall } from '../../../src/metrics.js';
import { PaymentService } from '../../../src/payments/commands.js';
import { startSyncScheduler } from '../../../src/payments/sync/scheduler.js';
import { UmsClient } from '../../../src/ums/client.js';
import { UmsOperations } from '../../../src/ums/operations.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';

/** A loopback port nobody listens on: connections are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describeEachDatabase('sync rounds when UMS cannot be reached', (kind) => {
  let database: TestDatabase;
  let client: UmsClient;
  beforeAll(async () => {
    database = await kind.open();
  });
  afterAll(async () => {
    await client?.close();
    await database?.close();
  });

  it('counts and logs every failed question, and the metrics show UMS unreachable; readiness stays up', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    client = new UmsClient({
      baseUrl: `http://127.0.0.1:${await closedPort()}`,
      appId: DEMO.appId,
      appKey: DEMO.appKey,
      onCall: observeUmsCall(metrics),
    });
    const ops = new UmsOperations(client, { mid: DEMO.mid, tid: DEMO.tid, sourceId: DEMO.sourceId, notifyUrl: 'http://127.0.0.1:9/notify/ums' });
    const service = new PaymentService({ db: database.db, ums: ops, client, sourceId: DEMO.sourceId, syncAfterMs: 0 });
    // H5 orders are stored without a call to UMS: two open payments for the round to ask about.
    for (const totalAmount of [101, 102]) await service.create({ channel: 'H5_WECHAT', totalAmount }, {});

    const lines: { level: number; msg: string; errors?: number; errorCodes?: Record<string, number> }[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    const scheduler = startSyncScheduler({
      db: database.db,
      commands: service,
      config: { afterMs: 0, intervalMs: 60_000, autoStart: false },
      log,
      onRound: observeSyncRound(metrics),
      now: () => new Date(Date.now() + 1_000),
    });
    const report = await scheduler.runOnce();
    await scheduler.stop();

    expect(report.questions).toBe(2);
    expect(report.errors).toHaveLength(2);
    const summary = lines.find((l) => l.msg.startsWith('sync round'));
    expect(summary).toMatchObject({ level: 40, errors: 2, errorCodes: { UMS_UNAVAILABLE: 2 } });
    expect(summary?.msg).toMatch(/every question to UMS failed/);

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^ums_reachable 0$/m);
    expect(text).toMatch(/^payment_sync_questions_total\{outcome="failed"\} 2$/m);
    expect(text).toMatch(/^payment_sync_questions_total\{outcome="answered"\} 0$/m);
    expect(await database.ready()).toBe(true);
  });
});
