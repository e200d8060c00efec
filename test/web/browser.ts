/**
 * A real headless Chromium for the browser tests, driven by playwright-core (no downloaded
 * browsers: the system's Chromium, `apt-get install chromium`; CHROMIUM_PATH overrides). Every
 * request that would leave loopback is refused and recorded, so a test can fail on any.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * The little of the page's DOM that page-side checks use: the root tsconfig has no DOM types (the
 * server must not see them), and functions, unlike strings, run under the page's strict CSP.
 */
interface PageElement {
  textContent: string | null;
  id: string;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): { length: number };
  activeElement: PageElement | null;
};
declare const window: { storefrontMark?: number };

/** Waits until `selector` matches at least `count` elements. */
export async function waitForCount(page: Page, selector: string, count = 1): Promise<void> {
  await page.waitForFunction(([s, n]) => document.querySelectorAll(s).length >= n, [selector, count] as const, { timeout: 20_000 });
}

/** The focused element's id and data-testid. */
export const focused = (page: Page) =>
  page.evaluate(() => ({ id: document.activeElement?.id ?? '', testId: document.activeElement?.getAttribute('data-testid') ?? '' }));

/** Sets a mark on the page's window; `hasMark` is true only if the page was never reloaded since. */
export const markPage = (page: Page) => page.evaluate(() => void (window.storefrontMark = 1));
export const hasMark = (page: Page) => page.evaluate(() => window.storefrontMark === 1);

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The Chromium to drive, or undefined where none is installed (the tests then skip, saying so). */
export function chromiumPath(): string | undefined {
  const configured = process.env.CHROMIUM_PATH?.trim();
  if (configured) return configured;
  return CANDIDATES.find((path) => existsSync(path));
}

export function isLoopback(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface GuardedContext {
  context: BrowserContext;
  /** Every request (HTTP or WebSocket) that tried to leave loopback: refused, and listed here. */
  outside: string[];
  /** Every request that went out, in order: method and URL (to show that nothing polls). */
  requests: { method: string; url: string }[];
}

export async function launch(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: ['--disable-dev-shm-usage', '--no-first-run'] });
}

/** A fresh context whose pages reach loopback only. */
export async function guardedContext(browser: Browser): Promise<GuardedContext> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, serviceWorkers: 'block' });
  const outside: string[] = [];
  const requests: { method: string; url: string }[] = [];
  await context.route('**/*', async (route) => {
    const request = route.request();
    const url = request.url();
    if (url.startsWith('data:') || isLoopback(url)) {
      requests.push({ method: request.method(), url });
      return route.continue();
    }
    outside.push(url);
    return route.abort('blockedbyclient');
  });
  await context.routeWebSocket((url) => !isLoopback(url.toString()), (ws) => {
    outside.push(ws.url());
    return ws.close();
  });
  return { context, outside, requests };
}

/** Waits until the element with this data-testid shows `text` (exactly), with a generous bound. */
export async function waitForText(page: Page, testId: string, text: string, timeout = 20_000): Promise<void> {
  try {
    await page.waitForFunction(
      ([id, expected]) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() === expected,
      [testId, text] as const,
      { timeout },
    );
  } catch (err) {
    const seen = await page.getByTestId(testId).textContent().catch(() => null);
    throw new Error(`[data-testid=${testId}] did not show "${text}" (it shows "${seen?.trim() ?? 'nothing'}")`, { cause: err });
  }
}
