/**
 * The UMS simulator, started in-process: `startSimulator(options)` listens (port 0 = ephemeral)
 * and returns a handle with its URL, the programmatic equivalents of the `/_sim/…` control
 * endpoints, the notification log, and `close()`, which stops the server and every retry timer.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { localUrl, reachableUrl } from '../lib/reachable-url.js';
import type { NotifySignType } from '../ums/sign.js';
import { SimEngine, type PayOptions } from './engine.js';
import { Notifier, type Delivery } from './notifier.js';
import { ScenarioBook, type PendingScenario, type ScenarioInput } from './scenarios.js';
import { SimMerchants } from './merchants.js';
import { SimServer } from './server.js';
import { OrderJournal } from './journal.js';
import { OrderStore } from './store.js';
import { TokenStore } from './tokens.js';
import type { SimCredentials } from './types.js';
import { orderView, type OrderView } from './views.js';

export type { SimCredentials, PayOptions, Delivery, OrderView, ScenarioInput, PendingScenario };
export type { DeliveryAttempt } from './notifier.js';

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** The first merchant (the gateway's `default`). */
  credentials: SimCredentials;
  /** More merchants served from the start (more can be added with `registerMerchant`). */
  merchants?: readonly SimCredentials[];
  /** Delays before each notification attempt; default DEFAULT_NOTIFY_BACKOFF_MS (about 24 h in all). */
  notifyBackoffMs?: readonly number[];
  /** How notifications are signed; SHA256 by default. */
  notifySignType?: NotifySignType;
  /** Allowed |now − timestamp| of authenticated requests; default 10 minutes. */
  maxClockSkewMs?: number;
  /** Lifetime of access tokens; default 3600 s. */
  tokenTtlMs?: number;
  /** A JSON-lines file where orders are kept across restarts (journal.ts); unset: memory only. */
  stateFile?: string;
  /** The merchant-configured notify URL, used for orders created without notifyUrl. */
  notifyUrl?: string;
  /**
   * Where a buyer's phone or browser opens the cashier (QR codes, pay URLs), e.g. a LAN address or
   * a tunnel; default the listening address, or this machine's LAN address when bound to 0.0.0.0.
   */
  publicUrl?: string;
  /** The simulator's clock (tests pin it to replay fixed vectors); default the real one. */
  now?: () => Date;
  log?: Logger;
}

export interface UmsSimulator {
  /** Base URL, e.g. `http://127.0.0.1:4100`: what the gateway's UMS client is pointed at. */
  readonly url: string;
  /** Where buyers open the cashier (what QR codes and pay links carry); `url` unless configured. */
  readonly publicUrl: string;
  /** The buyer pays (default) or the order closes; notifies unless `notify: false`. */
  pay(merOrderId: string, options?: PayOptions): OrderView;
  /** The order (or bill, by billNo) as the simulator sees it, or undefined. */
  order(merOrderId: string): OrderView | undefined;
  orders(): OrderView[];
  /** Queues a scenario control (see scenarios.ts and README.md). */
  scenario(input: ScenarioInput): PendingScenario;
  clearScenarios(): void;
  /** Every notification delivery so far, with each attempt's answer. */
  readonly deliveries: readonly Delivery[];
  /** Resolves when a delivery that matches has settled (delivered or given up). */
  waitForDelivery(match: (d: Delivery) => boolean, timeoutMs?: number): Promise<Delivery>;
  /** Subscribes to every notification attempt; returns the unsubscribe function. */
  onAttempt(listener: (d: Delivery) => void): () => void;
  /**
   * Serves one more merchant (or replaces the one with the same mid/tid): its appId/appKey
   * authenticate requests for its mid/tid, its notify key signs its orders' notifications.
   */
  registerMerchant(credentials: SimCredentials): void;
  /** Makes every access token issued so far expired. */
  expireTokens(): number;
  close(): Promise<void>;
}

/**
 * UMS re-sends "several times within 24 hours" (PROTOCOL.md §4.3, schedule unpublished): 0 s,
 * 15 s, 1 min, 5 min, 30 min, then hourly, 28 attempts over about 23.6 hours.
 */
export const DEFAULT_NOTIFY_BACKOFF_MS: readonly number[] = [0, 15_000, 60_000, 300_000, 1_800_000, ...Array<number>(23).fill(3_600_000)];

export async function startSimulator(options: SimulatorOptions): Promise<UmsSimulator> {
  const now = options.now ?? (() => new Date());
  const credentials = { ...options.credentials };
  const merchants = new SimMerchants(credentials);
  for (const more of options.merchants ?? []) merchants.register(more);
  const tokens = new TokenStore(options.tokenTtlMs ?? 3_600_000, now);
  const notifier = new Notifier({
    notifyKey: credentials.notifyKey,
    signType: options.notifySignType ?? 'SHA256',
    backoffMs: options.notifyBackoffMs ?? DEFAULT_NOTIFY_BACKOFF_MS,
    now,
    ...(options.log ? { log: options.log } : {}),
  });
  const engine = new SimEngine(merchants, new OrderStore(now, options.stateFile ? new OrderJournal(options.stateFile) : undefined), notifier, new ScenarioBook(), now, options.notifyUrl, options.log);
  const sim = new SimServer(engine, {
    appKeyOf: (appId) => merchants.appKeyOf(appId),
    maxClockSkewMs: options.maxClockSkewMs ?? 10 * 60 * 1000,
    now,
    tokens,
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    sim.server.once('error', reject);
    sim.server.listen(options.port ?? 0, host, () => {
      sim.server.off('error', reject);
      resolve();
    });
  });
  const { port } = sim.server.address() as AddressInfo;
  // Bound to 0.0.0.0, the gateway still connects over loopback; buyers get an address they can open.
  const url = localUrl(host, port);
  const publicUrl = options.publicUrl?.replace(/\/+$/, '') ?? reachableUrl(host, port);
  engine.baseUrl = publicUrl;

  let closed: Promise<void> | undefined;
  return {
    url,
    publicUrl,
    pay: (merOrderId, payOptions) => orderView(engine.pay(merOrderId, payOptions).order),
    order: (merOrderId) => {
      const order = engine.store.get(merOrderId);
      return order ? orderView(order) : undefined;
    },
    orders: () => engine.store.all().map(orderView),
    scenario: (input) => engine.scenarios.add(input),
    clearScenarios: () => engine.scenarios.clear(),
    deliveries: notifier.deliveries,
    waitForDelivery: (match, timeoutMs) => notifier.waitFor(match, timeoutMs),
    onAttempt: (listener) => {
      const wrapped = (d: Delivery) => listener(d);
      notifier.on('attempt', wrapped);
      return () => notifier.off('attempt', wrapped);
    },
    registerMerchant: (more) => merchants.register(more),
    expireTokens: () => tokens.expireAll(),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        notifier.close();
        engine.stopTimers();
        sim.server.close(() => resolve());
        sim.shutdown();
      });
      return closed;
    },
  };
}
