/**
 * `npm start` twice on one data directory: the built-in simulator keeps its orders in its own file
 * beside the embedded database (never in the gateway's tables), so after a restart an old payment's
 * QR link still opens, and it can still be synced and refunded at the simulator.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { simulatorStateFile } from '../../src/sim/from-config.js';
import { freePort, gql } from './support.js';
import { seedPgliteDataDir } from '../support/db.js';

const silent = createLogger('silent');
const CREATE = `mutation($input: CreatePaymentInput!) { createPayment(input: $input) { qrCode payment { merOrderId } } }`;
const SYNC = 'mutation($id: ID!) { syncPayment(merOrderId: $id) { status } }';
const REFUND = 'mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { status refundAmount } }';

describe('the simulator across a gateway restart', { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'ums-sim-restart-'));
  const dataDir = join(root, 'pglite');
  seedPgliteDataDir(dataDir);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function start() {
    const config = loadConfig({ PORT: String(await freePort()), UMS_SIM_PORT: String(await freePort()), PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', PAYMENT_SYNC_AFTER_MS: '600000' });
    return { gw: await startGateway(config, { log: silent, defaultMetrics: false, scheduler: false }), config };
  }

  it('keeps old orders: the QR link opens, sync and refund of an old payment work', async () => {
    let { gw, config } = await start();
    const file = simulatorStateFile(config)!;
    expect(file).toBe(join(root, 'pglite-ums-sim.jsonl'));
    const created = await gql<{ createPayment: { qrCode: string; payment: { merOrderId: string } } }>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 800 } });
    expect(created.errors).toBeUndefined();
    const { merOrderId } = created.data!.createPayment.payment;
    const paid = gw.simulator!.pay(merOrderId, { notify: false });
    expect(paid.status).toBe('TRADE_SUCCESS');
    await gw.close();
    expect(existsSync(file)).toBe(true);

    ({ gw } = await start());
    try {
      // The QR code's URL points at the simulator's new port; the path still finds the order.
      const qrPath = new URL(created.data!.createPayment.qrCode).pathname;
      expect((await fetch(`${gw.simulator!.url}${qrPath}`)).status).toBe(200);
      expect(gw.simulator!.order(merOrderId)?.status).toBe('TRADE_SUCCESS');
      // The lost notification is recovered by a query of the old order, then it is refunded.
      const synced = await gql<{ syncPayment: { status: string } }>(gw.url, SYNC, { id: merOrderId });
      expect(synced.errors).toBeUndefined();
      expect(synced.data!.syncPayment.status).toBe('TRADE_SUCCESS');
      const refunded = await gql<{ refundPayment: { status: string } }>(gw.url, REFUND, { input: { merOrderId, refundAmount: 300, refundOrderId: `${merOrderId.slice(0, 4)}R${Date.now()}` } });
      expect(refunded.errors).toBeUndefined();
      expect(refunded.data!.refundPayment).toMatchObject({ status: 'SUCCESS' });
      expect(gw.simulator!.order(merOrderId)?.refundedAmount).toBe(300);
    } finally {
      await gw.close();
    }
  });

  it('keeps nothing with memory://', () => {
    expect(simulatorStateFile(loadConfig({ PGLITE_DATA_DIR: 'memory://' }))).toBeUndefined();
    expect(simulatorStateFile(loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db' }))).toBeUndefined();
    expect(simulatorStateFile(loadConfig({ UMS_SIM_STATE_FILE: '/tmp/x.jsonl', PGLITE_DATA_DIR: 'memory://' }))).toBe('/tmp/x.jsonl');
  });
});
