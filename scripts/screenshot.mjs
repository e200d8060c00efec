#!/usr/bin/env node
/**
 * `npm run screenshot`: docs/storefront.png, the demo storefront after a payment committed.
 * Starts a gateway in simulator mode (in-memory PGlite, free ports) from dist/, drives the system's
 * headless Chromium (CHROMIUM_PATH, or /usr/bin/chromium) through create → pay on the cashier →
 * TRADE_SUCCESS, and takes the picture. Nothing leaves loopback.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(root, 'docs', 'storefront.png');
const executablePath = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);
if (!executablePath) {
  process.stderr.write('screenshot: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)\n');
  process.exit(1);
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

await import('reflect-metadata');
const { loadConfig } = await import(join(root, 'dist/src/config.js'));
const { startGateway } = await import(join(root, 'dist/src/app.js'));
const { createLogger } = await import(join(root, 'dist/src/log.js'));
const config = loadConfig({ PORT: String(await freePort()), UMS_SIM_PORT: String(await freePort()), PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });
const gateway = await startGateway(config, { log: createLogger('silent'), defaultMetrics: false });
const browser = await chromium.launch({ executablePath, headless: true });
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 820 }, deviceScaleFactor: 1 });
  await context.route('**/*', (route) => (/^https?:\/\/127\./.test(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  await page.goto(`${gateway.url}/`);
  await page.getByTestId('amount').fill('1250');
  await page.getByTestId('create').click();
  await page.locator('img[data-testid=qr][src^="data:image/"]').waitFor();
  const cashier = await context.newPage();
  await cashier.goto(await page.getByTestId('pay-link').getAttribute('href'));
  await cashier.getByTestId('pay').click();
  await page.locator('[data-testid=status]', { hasText: 'TRADE_SUCCESS' }).waitFor();
  await page.locator('[data-testid=refund]').waitFor();
  await page.bringToFront();
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
  await page.waitForTimeout(500); // the newest event's highlight fades first
  await page.screenshot({ path: out, fullPage: true });
  process.stdout.write(`screenshot: ${out}\n`);
} finally {
  await browser.close();
  await gateway.close();
}
