/**
 * A reconciliation run whose process is killed (SIGKILL, mid-run) is taken up by another instance
 * once its lease runs out, and finished with each payment counted once. Real parts: the gateway as
 * a child process (live mode against this test's simulator, which answers queries slowly), real
 * Postgres shared by both instances.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../../src/app.js';
import { DEMO, loadConfig } from '../../../src/config.js';
import { startSimulator, type UmsSimulator } from '../../../src/sim/simulator.js';
import { beijingDate } from '../../../src/ums/time.js';
import { freePort, gql, until } from '../../app/support.js';
import { spawnGateway, waitUntilReady, type GatewayProcess } from '../../app/shutdown/gateway-process.js';
import { describePostgres, postgresDatabase, type TestDatabase } from '../../support/db.js';
import { ADMIN, silent } from '../operator/support.js';

const RUN = `query($id: ID!) { reconciliationRun(id: $id) { status counts { matched corrected missingAtUms statusMismatch amountMismatch errors } items { merOrderId kind } } }`;
type Run = { reconciliationRun: { status: string; counts: Record<string, number>; items: { merOrderId: string; kind: string }[] } };

describePostgres('a reconciliation run whose process is killed', () => {
  let db: TestDatabase;
  let sim: UmsSimulator;
  let child: GatewayProcess | undefined;
  let second: Gateway | undefined;

  const live = (simUrl: string) => ({
    UMS_BASE_URL: simUrl,
    UMS_APP_ID: DEMO.appId,
    UMS_APP_KEY: DEMO.appKey,
    UMS_NOTIFY_KEY: DEMO.notifyKey,
    UMS_SOURCE_ID: DEMO.sourceId,
    UMS_MID: DEMO.mid,
    UMS_TID: DEMO.tid,
    GATEWAY_API_KEYS: `${ADMIN}:admin`,
    // The test polls the run often; the per-key operation limit is not what is tested here.
    RATE_LIMIT_PER_MINUTE: '0',
  });

  beforeAll(async () => {
    db = await postgresDatabase();
    sim = await startSimulator({ credentials: { ...DEMO } });
  }, 60_000);
  afterAll(async () => {
    await child?.kill();
    await second?.close();
    await sim?.close();
    await db?.close();
  });

  it('is taken up by another instance after its lease and finished, each payment once', async () => {
    child = await spawnGateway({ databaseUrl: db.url! }, { ...live(sim.url), LOG_LEVEL: 'error' });
    await waitUntilReady(child, 60_000);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await gql<{ createPayment: { payment: { merOrderId: string } } }>(
        child.url,
        'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { payment { merOrderId } } }',
        { input: { channel: 'QR_CODE', totalAmount: 500 + i } },
        ADMIN,
      );
      ids.push(created.data!.createPayment.payment.merOrderId);
    }
    sim.pay(ids[0]!, { notify: false });
    sim.scenario({ kind: 'slow', delayMs: 700, count: 100, path: '/v1/netpay/bills/query' });
    const started = await gql<{ reconcile: { id: string } }>(child.url, `mutation($d: String!) { reconcile(date: $d) { id } }`, { d: beijingDate() }, ADMIN);
    const runId = started.data!.reconcile.id;
    await until('an item classified by the first process', async () => {
      const r = await gql<Run>(child!.url, RUN, { id: runId }, ADMIN);
      return r.data!.reconciliationRun.items.length > 0 ? true : undefined;
    }, 30_000);

    child.signal('SIGKILL');
    await child.exited;

    const config = loadConfig({ PORT: String(await freePort()), DATABASE_URL: db.url!, ...live(sim.url) });
    second = await startGateway(config, { log: silent, defaultMetrics: false, scheduler: false, reconcile: { pollMs: 250 } });
    const mid = await gql<Run>(second.url, RUN, { id: runId }, ADMIN);
    expect(mid.data!.reconciliationRun.status).toBe('RUNNING');
    // The dead process's lease (30 s) runs out; then the second instance finishes the run.
    const done = await until('the run DONE on the second instance', async () => {
      const r = (await gql<Run>(second!.url, RUN, { id: runId }, ADMIN)).data!.reconciliationRun;
      return r.status === 'RUNNING' ? undefined : r;
    }, 90_000);
    expect(done.status).toBe('DONE');
    expect(done.items.map((i) => i.merOrderId).sort()).toEqual([...ids].sort());
    expect(Object.values(done.counts).reduce((a, b) => a + b, 0)).toBe(ids.length);
    expect(done.counts.corrected).toBe(1);
  }, 180_000);
});
