/**
 * The demo storefront in a real browser (CONTRACT.md "Demo storefront"): a gateway in simulator
 * mode (src/app.ts, PGlite, the built-in simulator), the page built from web/ by the same script
 * as `npm run build`, and headless Chromium that may reach loopback only. The shopper pays or
 * cancels on the simulator's cashier page in a second tab; the storefront's tab must see the
 * outcome arrive over its subscription, with no reload and no polling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../scripts/build-web.mjs';
import { startGateway, type Gateway } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { freePort } from '../app/support.js';
import { chromiumPath, focused, guardedContext, hasMark, launch, markPage, waitForCount, waitForText, type GuardedContext } from './browser.js';

const executablePath = chromiumPath();
if (!executablePath) {
  // Visible in the test output: a skipped browser suite must never pass for a tested one.
  console.warn('test/web/storefront.test.ts: SKIPPED, no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)');
}

describe.skipIf(!executablePath)('the demo storefront in Chromium', () => {
  let webRoot: string;
  let gw: Gateway;
  let browser: Browser;
  let guard: GuardedContext;

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), 'storefront-'));
    const config = loadConfig({
      PORT: String(await freePort()),
      UMS_SIM_PORT: String(await freePort()),
      PGLITE_DATA_DIR: 'memory://',
      PAYMENT_SYNC_AFTER_MS: '600000',
      UMS_SIM_NOTIFY_BACKOFF_MS: '0,200,500',
    });
    [gw, browser] = await Promise.all([
      buildWeb(webRoot).then(() => startGateway(config, { log: createLogger('silent'), defaultMetrics: false, storefrontRoot: webRoot })),
      launch(executablePath!),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    rmSync(webRoot, { recursive: true, force: true });
  });

  beforeAll(async () => {
    guard = await guardedContext(browser);
  });
  afterEach(() => {
    // Checked after every test: nothing may have left loopback, not even once.
    expect(guard.outside).toEqual([]);
  });

  /** Opens the storefront, creates a payment; answers its merOrderId and the pay link. */
  async function createPayment(page: Page, channel: string, fen: number): Promise<{ merOrderId: string; href: string }> {
    await page.goto(`${gw.url}/`);
    await page.getByTestId('amount').fill(String(fen));
    await page.getByTestId('channel').selectOption(channel);
    await page.getByTestId('create').click();
    await waitForCount(page, '[data-testid=merOrderId]:not(:empty)');
    const merOrderId = (await page.getByTestId('merOrderId').textContent())!.trim();
    // The code is drawn in the page, as an image (a data: URL: nothing fetched from elsewhere).
    const qr = page.locator('img[data-testid=qr]');
    await qr.and(page.locator('[src^="data:image/"]')).waitFor();
    expect(await qr.evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0)).toBe(true);
    const href = (await page.getByTestId('pay-link').getAttribute('href'))!;
    // The subscription is live (it has delivered the current state) before the shopper acts.
    await waitForCount(page, '#events li');
    return { merOrderId, href };
  }

  const graphqlPosts = () => guard.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/graphql')).length;

  it('QR code: create, pay on the cashier in a second tab, TRADE_SUCCESS arrives live, refund settles', async () => {
    const page = await guard.context.newPage();
    const { merOrderId, href } = await createPayment(page, 'QR_CODE', 1250);
    await waitForText(page, 'status', 'NEW_ORDER');
    expect(href).toBe(`${gw.simulator!.publicUrl}/_sim/cashier/${merOrderId}`);
    await markPage(page);
    const postsBefore = graphqlPosts();

    const cashier = await guard.context.newPage();
    await cashier.goto(href);
    expect(await cashier.getByText('UMS simulator').first().isVisible()).toBe(true);
    await cashier.getByTestId('pay').click();
    await cashier.getByRole('heading', { name: /Paid/ }).waitFor();

    await waitForText(page, 'status', 'TRADE_SUCCESS');
    expect(await hasMark(page)).toBe(true);
    // Pushed over the WebSocket: the page asked nothing over HTTP while it waited.
    expect(graphqlPosts()).toBe(postsBefore);
    expect(await page.locator('#events .source[data-source=NOTIFY]').count()).toBeGreaterThan(0);
    expect(gw.simulator!.order(merOrderId)?.status).toBe('TRADE_SUCCESS');

    await page.getByTestId('refund').click();
    await waitForText(page, 'refund-status', 'SUCCESS');
    await waitForText(page, 'status', 'TRADE_REFUND');
    expect(await page.getByTestId('refund').isDisabled()).toBe(true);
    expect(await hasMark(page)).toBe(true);
    await Promise.all([page.close(), cashier.close()]);
  });

  it('a refund that UMS answers PROCESSING: the page shows it, then SUCCESS once it settles', async () => {
    const page = await guard.context.newPage();
    const { merOrderId, href } = await createPayment(page, 'QR_CODE', 700);
    // UMS keeps this order's next refund PROCESSING for a while (then notifies TRADE_REFUND).
    gw.simulator!.scenario({ kind: 'refund-processing', merOrderId, settleAfterMs: 2_500 });
    const cashier = await guard.context.newPage();
    await cashier.goto(href);
    await cashier.getByTestId('pay').click();
    await waitForText(page, 'status', 'TRADE_SUCCESS');
    await page.getByTestId('refund').click();
    await waitForText(page, 'refund-status', 'PROCESSING');
    await waitForText(page, 'refund-status', 'SUCCESS');
    await waitForText(page, 'status', 'TRADE_REFUND');
    await Promise.all([page.close(), cashier.close()]);
  });

  it('is usable without a mouse: labelled fields, focus moved to the result, a live status region', async () => {
    const page = await guard.context.newPage();
    await page.goto(`${gw.url}/`);
    expect(await page.getByLabel(/Amount/).getAttribute('data-testid')).toBe('amount');
    expect(await page.getByLabel('Pay with').getAttribute('data-testid')).toBe('channel');
    // A wrong amount is refused in the page, said next to the field, and the field gets focus.
    await page.getByTestId('amount').fill('12.5');
    await page.getByTestId('create').click();
    expect(await page.getByRole('alert').textContent()).toMatch(/whole number of fen/);
    expect((await focused(page)).testId).toBe('amount');
    await page.getByTestId('amount').fill('500');
    await page.getByTestId('amount').press('Enter');
    await waitForText(page, 'status', 'NEW_ORDER');
    expect((await focused(page)).id).toBe('shopper-title');
    expect(await page.getByTestId('status').getAttribute('aria-live')).toBe('polite');
    expect(await page.getByRole('img', { name: /QR code/ }).count()).toBe(1);
    await page.close();
  });

  it('cancelled on the cashier: the order ends TRADE_CLOSED, with no refund offered', async () => {
    const page = await guard.context.newPage();
    const { href } = await createPayment(page, 'QR_CODE', 990);
    const cashier = await guard.context.newPage();
    await cashier.goto(href);
    await cashier.getByTestId('cancel').click();
    await cashier.getByRole('heading', { name: /Cancelled/ }).waitFor();
    await waitForText(page, 'status', 'TRADE_CLOSED');
    expect(await page.getByTestId('refund').isVisible()).toBe(false);
    await Promise.all([page.close(), cashier.close()]);
  });

  it('H5 channel: the pay link opens the simulator’s H5 page, which leads to the cashier', async () => {
    const page = await guard.context.newPage();
    const { href } = await createPayment(page, 'H5_WECHAT', 300);
    expect(href).toContain(`${gw.simulator!.publicUrl}/`);
    const cashier = await guard.context.newPage();
    await cashier.goto(href);
    expect(cashier.url()).toContain('/_sim/cashier/');
    await cashier.getByTestId('pay').click();
    await waitForText(page, 'status', 'TRADE_SUCCESS');
    await Promise.all([page.close(), cashier.close()]);
  });
});
