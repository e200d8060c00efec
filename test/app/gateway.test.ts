/**
 * The gateway as it ships: startGateway (src/app.ts) with a Config read by loadConfig from an
 * environment, driven over HTTP and a real graphql-ws WebSocket. Simulator mode (embedded PGlite,
 * built-in simulator), and live mode against a separately started simulator's URL with token
 * authentication and a rotated notify key.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.js';
import { DEMO, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startSimulator, type UmsSimulator } from '../../src/sim/simulator.js';
import { notifySign } from '../../src/ums/sign.js';
import { freePort, gql, subscribe, until } from './support.js';

const silent = createLogger('silent');

const CREATE = `mutation($input: CreatePaymentInput!) {
  createPayment(input: $input) { qrCode payment { merOrderId status totalAmount } }
}`;
const PAYMENT = 'query($id: ID!) { payment(merOrderId: $id) { status } }';
const CHANGES = 'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { status source } }';

type Created = { createPayment: { qrCode: string | null; payment: { merOrderId: string; status: string; totalAmount: number } } };
type Change = { paymentStatusChanged: { status: string; source: string } };

async function payAtSimulator(simulatorUrl: string, merOrderId: string): Promise<void> {
  const res = await fetch(`${simulatorUrl}/_sim/orders/${encodeURIComponent(merOrderId)}/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(res.status).toBe(200);
}

describe('startGateway in simulator mode (no UMS_BASE_URL)', () => {
  let gw: Gateway;

  beforeAll(async () => {
    const config = loadConfig({ PORT: String(await freePort()), UMS_SIM_PORT: String(await freePort()), PGLITE_DATA_DIR: 'memory://', PAYMENT_SYNC_AFTER_MS: '600000' });
    gw = await startGateway(config, { log: silent, defaultMetrics: false });
  });
  afterAll(() => gw?.close());

  it('is ready, and open to everyone without GATEWAY_API_KEYS (Sandbox on)', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    expect(gw.simulator).toBeDefined();
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(200);
  });

  it('createPayment over HTTP, the buyer pays at the simulator, a WebSocket subscriber sees TRADE_SUCCESS', async () => {
    const created = await gql<Created>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 1250, description: 'latte' } });
    expect(created.errors).toBeUndefined();
    const { merOrderId, totalAmount } = created.data!.createPayment.payment;
    expect(totalAmount).toBe(1250);
    expect(merOrderId.startsWith(DEMO.sourceId)).toBe(true);
    expect(created.data!.createPayment.qrCode).toBeTruthy();

    const sub = subscribe<Change>(gw.url, CHANGES, { id: merOrderId });
    try {
      // The current state comes first: the subscription is live before the buyer pays.
      await until('the current state', () => sub.seen[0]);
      await payAtSimulator(gw.simulator!.url, merOrderId);
      const paid = await until('TRADE_SUCCESS', () => sub.seen.find((c) => c.paymentStatusChanged.status === 'TRADE_SUCCESS'));
      expect(paid.paymentStatusChanged.source).toBe('NOTIFY');
      expect(sub.errors).toEqual([]);
    } finally {
      await sub.close();
    }
    expect((await gql<{ payment: { status: string } }>(gw.url, PAYMENT, { id: merOrderId })).data?.payment.status).toBe('TRADE_SUCCESS');
  });
});

describe('startGateway in live mode against a UMS at UMS_BASE_URL (token auth, rotated notify key)', () => {
  const OLD_KEY = 'notify-key-before-rotation-0123456789';
  const NEW_KEY = 'notify-key-after-rotation-9876543210';
  const CREDS = { appId: 'live-app-0001', appKey: 'live-app-key-0123456789abcdef', sourceId: '1A2B', mid: '898310060514001', tid: '00000001' };
  let ums: UmsSimulator;
  let gw: Gateway;

  beforeAll(async () => {
    const port = await freePort();
    const notifyUrl = `http://127.0.0.1:${port}/notify/ums`;
    // UMS still signs with the key it had before the merchant rotated it.
    ums = await startSimulator({ host: '127.0.0.1', credentials: { ...CREDS, notifyKey: OLD_KEY }, notifyBackoffMs: [0], notifyUrl, log: silent });
    const config = loadConfig({
      PORT: String(port),
      PGLITE_DATA_DIR: 'memory://',
      UMS_BASE_URL: ums.url,
      UMS_AUTH_MODE: 'token',
      UMS_APP_ID: CREDS.appId,
      UMS_APP_KEY: CREDS.appKey,
      UMS_SOURCE_ID: CREDS.sourceId,
      UMS_MID: CREDS.mid,
      UMS_TID: CREDS.tid,
      UMS_NOTIFY_KEY: NEW_KEY,
      UMS_NOTIFY_KEY_PREVIOUS: OLD_KEY,
      UMS_NOTIFY_URL: notifyUrl,
      GATEWAY_API_KEYS: 'pk_web:read+pay,sk_ops:admin',
      METRICS_KEY: 'metrics-key-0123',
      PAYMENT_SYNC_AFTER_MS: '600000',
    });
    expect(config.graphqlSandbox).toBe(false);
    gw = await startGateway(config, { log: silent, defaultMetrics: false });
  });
  afterAll(async () => {
    await gw?.close();
    await ums?.close();
  });

  it('starts no simulator of its own and asks for an API key', async () => {
    expect(gw.simulator).toBeUndefined();
    const anonymous = await gql(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 1 } });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('pays through UMS; a notification signed with the previous key is accepted and pushed to a subscriber', async () => {
    const created = await gql<Created>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 800 } }, 'pk_web');
    expect(created.errors).toBeUndefined();
    const { merOrderId } = created.data!.createPayment.payment;
    expect(merOrderId.startsWith(CREDS.sourceId)).toBe(true);
    expect(ums.order(merOrderId)).toBeDefined();

    const sub = subscribe<Change>(gw.url, CHANGES, { id: merOrderId }, 'pk_web');
    try {
      await until('the current state', () => sub.seen[0]);
      await payAtSimulator(ums.url, merOrderId);
      await until('TRADE_SUCCESS', () => sub.seen.find((c) => c.paymentStatusChanged.status === 'TRADE_SUCCESS'));
      expect(sub.errors).toEqual([]);
    } finally {
      await sub.close();
    }
    // A QR order is a bill at UMS: its notification says PAID (bills.notify), signed with OLD_KEY.
    const delivery = ums.deliveries.find((d) => d.merOrderId === merOrderId && d.status === 'PAID');
    expect(delivery?.attempts.at(-1)).toMatchObject({ httpStatus: 200, answer: 'SUCCESS' });
  });

  it('refuses a notification signed with a key it does not know, and changes nothing', async () => {
    const created = await gql<Created>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 800 } }, 'pk_web');
    const { merOrderId } = created.data!.createPayment.payment;
    // The earlier paid notification, moved to this order and re-signed: same shape, other key.
    const earlier = ums.deliveries.find((d) => d.status === 'PAID')!;
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(earlier.fields)) {
      if (name !== 'sign') fields[name] = value.split(earlier.merOrderId).join(merOrderId);
    }
    fields.notifyId = randomUUID();
    for (const [key, accepted] of [['unknown-key-0000000000', false], [OLD_KEY, true]] as const) {
      const signed = { ...fields, sign: notifySign(fields, key, 'SHA256') };
      const res = await fetch(`${gw.url}/notify/ums`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(signed).toString(),
      });
      const status = (await gql<{ payment: { status: string } }>(gw.url, PAYMENT, { id: merOrderId }, 'pk_web')).data?.payment.status;
      if (accepted) {
        expect([res.status, await res.text(), status]).toEqual([200, 'SUCCESS', 'TRADE_SUCCESS']);
      } else {
        expect([res.status, await res.text()]).toEqual([400, 'FAILED']);
        expect(status).not.toBe('TRADE_SUCCESS');
      }
    }
  });

  it('answers /metrics only with Authorization: Bearer <METRICS_KEY>', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer metrics-key-0123' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('ums_notifications_total');
  });
});
