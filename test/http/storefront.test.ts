/**
 * The storefront's serving, without a browser: `/` and its hashed assets with their cache headers
 * and CSP, `/` off in live mode unless DEMO_PAGE=true, a clear 503 when the bundle is not built,
 * and addresses a phone can open (UMS_SIM_PUBLIC_URL, and no 0.0.0.0 in links).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../scripts/build-web.mjs';
import { startGateway, type Gateway } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { DEMO } from '../../src/config.js';
import { storefrontRoute } from '../../src/http/storefront.js';
import { createLogger } from '../../src/log.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { freePort, gql } from '../app/support.js';

const silent = createLogger('silent');
const CREATE = `mutation($input: CreatePaymentInput!) { createPayment(input: $input) { qrCode payUrl payment { merOrderId } } }`;
type Created = { createPayment: { qrCode: string | null; payUrl: string | null } };

async function simulatorGateway(env: Record<string, string>, storefrontRoot: string): Promise<Gateway> {
  const config = loadConfig({ PORT: String(await freePort()), UMS_SIM_PORT: String(await freePort()), PGLITE_DATA_DIR: 'memory://', PAYMENT_SYNC_AFTER_MS: '600000', ...env });
  return startGateway(config, { log: silent, defaultMetrics: false, scheduler: false, storefrontRoot });
}

describe('DEMO_PAGE', () => {
  const live = { UMS_BASE_URL: 'https://ums.example.com', UMS_APP_ID: 'a', UMS_APP_KEY: 'k', UMS_NOTIFY_KEY: 'n', UMS_SOURCE_ID: '1A2B', UMS_MID: 'm', UMS_TID: 't', GATEWAY_API_KEYS: 'pk:read' };
  it('is on in simulator mode, off in live mode unless DEMO_PAGE=true', () => {
    expect(loadConfig({}).demoPage).toBe(true);
    expect(loadConfig({ DEMO_PAGE: 'false' }).demoPage).toBe(false);
    expect(loadConfig(live).demoPage).toBe(false);
    expect(loadConfig({ ...live, DEMO_PAGE: 'true' }).demoPage).toBe(true);
    expect(() => loadConfig({ DEMO_PAGE: 'maybe' })).toThrow(/DEMO_PAGE: expected true or false/);
  });

  it('PUBLIC_URL and UMS_SIM_PUBLIC_URL take http(s) URLs, without a trailing slash', () => {
    const config = loadConfig({ PUBLIC_URL: 'http://192.168.1.20:4000/', UMS_SIM_PUBLIC_URL: 'https://sim.example.com' });
    expect(config.publicUrl).toBe('http://192.168.1.20:4000');
    expect(config.umsSimPublicUrl).toBe('https://sim.example.com');
    expect(() => loadConfig({ UMS_SIM_PUBLIC_URL: '192.168.1.20:4100' })).toThrow(/UMS_SIM_PUBLIC_URL: expected an http\(s\) URL/);
  });
});

describe('serving the storefront', () => {
  let webRoot: string;
  let gw: Gateway;
  let off: Gateway;

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), 'storefront-http-'));
    await buildWeb(webRoot);
    [gw, off] = await Promise.all([
      simulatorGateway({ UMS_SIM_PUBLIC_URL: 'http://phone-reachable.test:4100' }, webRoot),
      simulatorGateway({ DEMO_PAGE: 'false' }, webRoot),
    ]);
  });
  afterAll(async () => {
    await Promise.all([gw?.close(), off?.close()]);
    rmSync(webRoot, { recursive: true, force: true });
  });

  it('serves / as no-cache HTML under a same-origin-only CSP, naming hashed assets that are immutable', async () => {
    const page = await fetch(`${gw.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere: no CDN, no fonts
    expect(html).toContain('<body data-mode="simulator">');
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      expect(asset).toMatch(/-[A-Z0-9]{8}\.(js|css)$/);
      const res = await fetch(`${gw.url}${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(await res.text()).not.toMatch(/\bfonts\.googleapis|cdn\./);
    }
    expect(readdirSync(join(webRoot, 'assets')).length).toBeGreaterThanOrEqual(2);
    expect((await fetch(`${gw.url}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${gw.url}/assets/../index.html`)).status).not.toBe(200);
  });

  it('does not serve / with DEMO_PAGE=false', async () => {
    expect((await fetch(`${off.url}/`)).status).toBe(404);
    expect((await fetch(`${off.url}/healthz`)).status).toBe(200);
  });

  it('in live mode serves / only with DEMO_PAGE=true, under a live-mode banner', async () => {
    const config = loadConfig({
      PORT: String(await freePort()),
      PGLITE_DATA_DIR: 'memory://',
      // Loopback and never called here: the page is served without asking UMS anything.
      UMS_BASE_URL: 'http://127.0.0.1:9',
      UMS_APP_ID: 'live-app',
      UMS_APP_KEY: 'live-key',
      UMS_NOTIFY_KEY: 'live-notify-key',
      UMS_SOURCE_ID: '1A2B',
      UMS_MID: '898310060514001',
      UMS_TID: '00000001',
      GATEWAY_API_KEYS: 'pk_web:read+pay',
      DEMO_PAGE: 'true',
    });
    const live = await startGateway(config, { log: silent, defaultMetrics: false, scheduler: false, storefrontRoot: webRoot });
    try {
      const page = await fetch(`${live.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<body data-mode="live">');
    } finally {
      await live.close();
    }
  });

  it('answers 503 with the fix when the bundle is not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'storefront-empty-'));
    const app = Fastify();
    await app.register(storefrontRoute({ root: empty, mode: 'simulator' }));
    try {
      const res = await app.inject({ method: 'GET', url: '/' });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build');
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('QR codes and H5 pay links carry UMS_SIM_PUBLIC_URL, while the gateway still reaches the simulator locally', async () => {
    const qr = await gql<Created>(gw.url, CREATE, { input: { channel: 'QR_CODE', totalAmount: 100 } });
    expect(qr.errors).toBeUndefined();
    expect(qr.data!.createPayment.qrCode).toMatch(/^http:\/\/phone-reachable\.test:4100\/_sim\/cashier\//);
    const h5 = await gql<Created>(gw.url, CREATE, { input: { channel: 'H5_ALIPAY', totalAmount: 100 } });
    expect(h5.data!.createPayment.payUrl).toMatch(/^http:\/\/phone-reachable\.test:4100\/v1\/netpay\//);
    expect(gw.simulator!.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
});

describe('a simulator bound to 0.0.0.0', () => {
  it('is called over loopback and hands buyers an address other than 0.0.0.0', async () => {
    const sim = await startSimulator({ host: '0.0.0.0', credentials: { ...DEMO }, log: silent });
    try {
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.publicUrl).not.toContain('0.0.0.0');
      expect((await fetch(`${sim.url}/_sim/cashier/none`)).status).toBe(404);
    } finally {
      await sim.close();
    }
  });
});
