/**
 * The whole gateway from real parts, as main.ts wires it: GraphQL + notify endpoint + /metrics on
 * one Fastify app, the payment commands over the signed UMS client, and the UMS simulator posting
 * its notifications back to this gateway.
 */
import { DEMO } from '../../src/config.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import { notifyRoute } from '../../src/http/notify.js';
import { NotificationBatcher } from '../../src/payments/ledger.js';
import { observeNotification, observeUmsCall } from '../../src/metrics.js';
import { PaymentService } from '../../src/payments/commands.js';
import type { PaymentCommands } from '../../src/payments/commands-api.js';
import { startSimulator, type UmsSimulator } from '../../src/sim/simulator.js';
import { UmsClient } from '../../src/ums/client.js';
import { UmsOperations } from '../../src/ums/operations.js';
import { afterAll, beforeAll } from 'vitest';
import type { DatabaseKind, TestDatabase } from '../support/db.js';
import { silent, startGateway, type TestGateway } from './harness.js';

export interface FullGateway extends TestGateway {
  sim: UmsSimulator;
  service: PaymentService;
}

export async function startFullGateway(handle: DatabaseHandle, options: { apiKeys?: string; sim?: UmsSimulator } = {}): Promise<FullGateway> {
  let service: PaymentService | undefined;
  const ready = (): PaymentService => {
    if (!service) throw new Error('gateway not started');
    return service;
  };
  // The notify URL is known only once the app listens; the commands are built then.
  const commands: PaymentCommands = {
    create: (input, opts) => ready().create(input, opts),
    sync: (id, opts) => ready().sync(id, opts),
    close: (id, opts) => ready().close(id, opts),
    refund: (input, opts) => ready().refund(input, opts),
    callUms: (s, v, b, d) => ready().callUms(s, v, b, d),
    completeSecure: (id, amount) => ready().completeSecure(id, amount),
    cancelSecure: (id) => ready().cancelSecure(id),
    simulatePayment: (id, outcome, opts) => {
      const simulate = ready().simulatePayment;
      if (!simulate) throw new Error('no simulator');
      return simulate.call(ready(), id, outcome, opts);
    },
  };
  const gw = await startGateway({
    handle,
    apiKeys: options.apiKeys,
    commands,
    simulatorMode: true,
    plugins: (metrics) => [notifyRoute({ db: handle.db, batcher: new NotificationBatcher(handle.db), keys: () => [DEMO.notifyKey], log: silent, onOutcome: observeNotification(metrics) })],
  });
  const notifyUrl = gw.url.replace('/graphql', '/notify/ums');
  const sim = options.sim ?? (await startSimulator({ credentials: { ...DEMO }, notifyUrl, notifyBackoffMs: [0, 100, 200, 400] }));
  const client = new UmsClient({
    baseUrl: sim.url,
    appId: DEMO.appId,
    appKey: DEMO.appKey,
    headersTimeoutMs: 2_000,
    bodyTimeoutMs: 2_000,
    onCall: observeUmsCall(gw.metrics),
  });
  const ops = new UmsOperations(client, { mid: DEMO.mid, tid: DEMO.tid, sourceId: DEMO.sourceId, notifyUrl });
  // Every merchant acts with the default UMS profile here (the simulator knows that one): these
  // suites are about who may see what; per-merchant credentials are test/http/merchants-notify's.
  const merchants = { merchant: (id: string) => ({ id, enabled: true, sourceId: DEMO.sourceId, ums: ops, client }) };
  service = new PaymentService({ db: handle.db, ums: ops, client, merchants, sourceId: DEMO.sourceId, syncAfterMs: 60_000, log: silent, simulator: sim, simulateWaitMs: 3_000 });
  return {
    ...gw,
    sim,
    service,
    async close() {
      await gw.close();
      if (!options.sim) await sim.close();
      await client.close();
    },
  };
}

/**
 * A full gateway on a fresh database of `kind` for the enclosing suite: opened before its tests,
 * closed after them. Read `suite.gw` inside tests (it exists once beforeAll has run).
 */
export function fullGatewayForSuite(kind: DatabaseKind, options: { apiKeys?: string } = {}): { readonly gw: FullGateway } {
  let database: TestDatabase | undefined;
  let gateway: FullGateway | undefined;
  beforeAll(async () => {
    database = await kind.open();
    gateway = await startFullGateway(database, options);
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.close();
  });
  return {
    get gw(): FullGateway {
      if (!gateway) throw new Error('the suite’s gateway has not started');
      return gateway;
    },
  };
}
