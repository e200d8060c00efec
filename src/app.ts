/**
 * The composition root: one function that builds a whole gateway instance from a Config, used by
 * main.ts, by the end-to-end tests (test/app/) and by the benchmarks. Every long-lived part is
 * built here, in one named step each, and handed to the parts that use it: reading this file
 * shows the whole gateway. No room keeps a module-level instance of its own.
 *
 * Order matters in both directions. Start: database (migrated) → simulator (simulator mode) →
 * metrics → UMS client → bus → payment commands → scheduler → GraphQL → HTTP → listen. Close, in
 * reverse: stop taking HTTP work and drain in-flight requests (a notification being stored
 * finishes and is answered) and subscriptions → finish the scheduler's round → bus → client →
 * simulator → database.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import type { PgliteWorker } from './db/pglite-worker.js';
import { PostgresBus } from './events/postgres-bus.js';
import { createGraphQL } from './graphql/plugin.js';
import { buildGatewaySchema } from './graphql/schema.js';
import { buildServer, type HttpTimeouts } from './http/server.js';
import { notifyRoute } from './http/notify.js';
import { defaultStorefrontRoot, storefrontRoute } from './http/storefront.js';
import { errorSummary } from './lib/errors.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, metricsPlugin, observeNotification, observeSyncRound, observeUmsCall, type Metrics } from './metrics.js';
import { createPaymentCommands } from './payments/commands.js';
import { NotificationBatcher, NotificationRetention } from './payments/ledger.js';
import { Idempotency } from './payments/idempotency.js';
import { startSyncScheduler, type SyncScheduler } from './payments/sync/scheduler.js';
import { startOperatorWorkflows } from './payments/operator.js';
import type { Reconciler } from './payments/reconcile/reconciler.js';
import { UmsClient } from './ums/client.js';
import { merchantFromConfig, UmsOperations } from './ums/operations.js';
import { simulatorOptionsFromConfig, simulatorStateFile } from './sim/from-config.js';
import { startSimulator, type SimCredentials, type UmsSimulator } from './sim/simulator.js';
import { MerchantAdmin } from './merchants/admin.js';
import type { MerchantProfile } from './merchants/profile.js';
import { MerchantRegistry } from './merchants/registry.js';
import { openSecretBox } from './merchants/secret-key.js';
import type { SecretBox } from './merchants/secret-box.js';
import { clientSecretsFromConfig } from './access/client-secret.js';
import { MerchantStore } from './merchants/store.js';
import { queueStats } from './webhooks/deliveries.js';
import { startWebhooks, type Webhooks } from './webhooks/start.js';

export interface GatewayOptions {
  log?: Logger;
  /** Listen on config.host:config.port (default true). Tests pass `port: 0` in the config. */
  listen?: boolean;
  /** Run the sync scheduler (default true). */
  scheduler?: boolean;
  /** Reconciliation's lease and poll (tests shorten them); defaults 30 s and 5 s. */
  reconcile?: { leaseMs?: number; pollMs?: number; umsPerSecond?: number };
  /** Use this simulator instead of starting one (simulator mode only; it is not closed by us). */
  simulator?: UmsSimulator;
  /** Metrics of the Node process itself (default true; tests with several instances turn it off). */
  defaultMetrics?: boolean;
  /** Slow-client limits (default 10 s head / 30 s request); tests pass smaller ones. */
  httpTimeouts?: Partial<HttpTimeouts>;
  /** The demo storefront's built bundle (default dist/web); served when config.demoPage. */
  storefrontRoot?: string;
  /** PGlite mode: config.pgliteDataDir already being opened in a worker thread (main.ts). */
  pgliteWorker?: PgliteWorker;
}

export interface Gateway {
  app: FastifyInstance;
  /** Where the gateway listens, e.g. http://127.0.0.1:4000 (empty when not listening). */
  url: string;
  database: DatabaseHandle;
  metrics: Metrics;
  scheduler: SyncScheduler | undefined;
  /** Reconciliation runs of this instance (tests wait on it). */
  reconciler: Reconciler;
  /** The built-in simulator in simulator mode. */
  simulator: UmsSimulator | undefined;
  webhooks: Webhooks;
  /** Drains and closes everything, in order; idempotent. */
  close(): Promise<void>;
}

/** What has been started so far, closed in reverse order: on close, and when a later step fails. */
class Parts {
  readonly #closers: { name: string; close: () => Promise<unknown> }[] = [];
  constructor(private readonly log: Logger) {}

  add(name: string, close: () => Promise<unknown>): void {
    this.#closers.push({ name, close });
  }

  async closeAll(): Promise<void> {
    for (const { name, close } of this.#closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        this.log.error({ err: errorSummary(err), part: name }, 'error while closing');
      }
    }
  }
}

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.log ?? createLogger(config.logLevel);
  const parts = new Parts(log);
  const simulatorMode = config.umsBaseUrl === undefined;

  try {
    // Storage: the database, migrated before anything reads it. While it opens (Postgres's round
    // trips, or PGlite in its worker thread when main.ts started one), this thread builds the
    // GraphQL schema, which needs nothing else; the GraphQL room awaits it.
    const opening = openDatabase({
      ...(config.databaseUrl ? { url: config.databaseUrl.reveal() } : { pgliteDataDir: config.pgliteDataDir, ...(options.pgliteWorker ? { pgliteWorker: options.pgliteWorker } : {}) }),
      log,
    });
    const schema = buildGatewaySchema({ simulatorMode });
    schema.catch(() => {}); // reported by the GraphQL room, if the start gets that far
    const database = await opening;
    parts.add('database', () => database.close());
    const { db } = database;

    // UMS: the built-in simulator (simulator mode), and the one client every call goes through.
    const simulator = simulatorMode ? (options.simulator ?? (await startOwnSimulator(config, log, parts))) : undefined;
    const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? true, webhookQueue: () => () => queueStats(db) });
    const client = UmsClient.fromConfig(config, {
      // The gateway calls the simulator locally; buyers' browsers open its pages at its public address.
      ...(simulator ? { baseUrl: simulator.url, pageBaseUrl: simulator.publicUrl } : {}),
      logger: log.child({ room: 'ums' }),
      onCall: observeUmsCall(metrics),
    });
    parts.add('ums client', () => client.close());
    const ums = new UmsOperations(client, merchantFromConfig(config));

    // Merchants: `default` (UMS_*) and the stored ones, each with its own client; in simulator
    // mode the simulator learns every one of them, so a created merchant works with no other step.
    const merchants = await startMerchants(config, { db, database, client, simulator, metrics, log }, parts);

    // Read side's source: ledger changes as events, across instances (LISTEN/NOTIFY).
    const bus = await PostgresBus.start({ db, listener: database, log: log.child({ room: 'bus' }) });
    parts.add('bus', () => bus.close());

    // Webhooks to merchants' backends: the feed's dispatcher and the delivery workers (any instance).
    const webhooks = await startWebhooks({ config, db, listener: database, bus, simulatorMode, log: log.child({ room: 'webhooks' }), metrics, box: merchants.box });
    parts.add('webhooks', () => webhooks.close());

    // Write side: payment commands, and the scheduler that settles what UMS did not tell us.
    // The idempotency store listens, so a retry waiting on a key held by another instance is woken.
    const idempotency = new Idempotency(db, { listen: database });
    parts.add('idempotency', () => idempotency.close());
    const commands = createPaymentCommands({
      db,
      ums,
      client,
      merchants: merchants.registry,
      sourceId: config.umsSourceId,
      syncAfterMs: config.paymentSyncAfterMs,
      log: log.child({ room: 'payments' }),
      idempotency,
      bus,
      ...(simulator ? { simulator } : {}),
    });
    const scheduler = (options.scheduler ?? true) ? startScheduler(config, { db, commands, idempotency }, log, parts, observeSyncRound(metrics)) : undefined;

    // Operator workflows: reconciliation runs (resumed across instances, daily schedule) and the
    // late-payment policy; GraphQL's resolveReview and reconcile reach them through `operator`.
    const operator = startOperatorWorkflows({ config, db, commands, log: log.child({ room: 'operator' }), ...(options.reconcile ? { reconcile: options.reconcile } : {}) });
    parts.add('operator workflows', () => operator.close());

    // The ledger's long-lived parts: group commit of notifications, and raw-body retention (0: keep bodies).
    const notificationBatcher = new NotificationBatcher(db);
    if (config.rawNotificationRetentionDays > 0) {
      const retention = new NotificationRetention({ db, retentionDays: config.rawNotificationRetentionDays, log: log.child({ room: 'retention' }) });
      retention.start();
      parts.add('notification retention', () => retention.stop());
    }

    // HTTP: GraphQL (queries, mutations, subscriptions), the UMS notify endpoint, probes, metrics,
    // and the demo storefront at `/` (DEMO_PAGE: simulator mode by default).
    // Client secrets are keyed by a key derived from GATEWAY_SECRET_KEY (in simulator mode the
    // generated one): never by the simulator's published demo keys, which anyone could sign with.
    const clientSecrets = clientSecretsFromConfig(config, merchants.box?.derive('client-secrets'));
    if (!merchants.box) log.warn('GATEWAY_SECRET_KEY is unset: client secrets are keyed by the UMS keys; set it to key them apart');
    const graphql = createGraphQL({ schema, config, db, bus, commands, simulatorMode, log: log.child({ room: 'graphql' }), metrics, keyListener: database, operator: operator.services, webhooks: webhooks.admin, merchants: merchants.admin, clientSecrets, merchantDisabled: (id) => merchants.registry.merchant(id)?.enabled === false });
    // Each notification is counted; one that got a payment flagged may concern the operator workflows (a late payment).
    const countNotification = observeNotification(metrics);
    const onNotification = (answer: { outcome: string; reason?: string | undefined }) => {
      countNotification(answer);
      if (answer.outcome === 'review') operator.flagged(answer.reason);
    };
    const app = await buildServer({
      log,
      ready: () => database.ready(),
      ...(options.httpTimeouts ? { timeouts: options.httpTimeouts } : {}),
      plugins: [
        notifyRoute({ db, batcher: notificationBatcher, merchants: merchants.registry, log: log.child({ room: 'notify' }), onOutcome: onNotification }),
        graphql.plugin,
        metricsPlugin(metrics, { key: config.metricsKey }),
        ...(config.demoPage ? [storefrontRoute({ root: options.storefrontRoot ?? defaultStorefrontRoot(), mode: simulatorMode ? 'simulator' : 'live' })] : []),
      ],
    });
    // Closing the app drains HTTP requests and (through the GraphQL room's hook) subscriptions.
    parts.add('graphql', () => graphql.close());
    parts.add('http', () => app.close());

    const url = (options.listen ?? true) ? await listen(app, config) : '';

    let closing: Promise<void> | undefined;
    return { app, url, database, metrics, scheduler, reconciler: operator.reconciler, simulator, webhooks, close: () => (closing ??= parts.closeAll()) };
  } catch (err) {
    await parts.closeAll();
    throw err;
  }
}

async function startMerchants(
  config: Config,
  deps: { db: DatabaseHandle['db']; database: DatabaseHandle; client: UmsClient; simulator: UmsSimulator | undefined; metrics: Metrics; log: Logger },
  parts: Parts,
): Promise<{ registry: MerchantRegistry; admin: MerchantAdmin; box: SecretBox | undefined }> {
  const log = deps.log.child({ room: 'merchants' });
  const box = await openSecretBox(config, log);
  const store = new MerchantStore(deps.db);
  const simulator = deps.simulator;
  const registry = new MerchantRegistry({
    config,
    store,
    box,
    listener: deps.database,
    defaultClient: deps.client,
    clientOptions: {
      baseUrl: simulator?.url ?? config.umsBaseUrl ?? '',
      logger: deps.log.child({ room: 'ums' }),
      onCall: observeUmsCall(deps.metrics),
    },
    log,
    ...(simulator ? { onProfile: (profile: MerchantProfile) => simulator.registerMerchant(simulatorCredentials(profile)) } : {}),
  });
  parts.add('merchants', () => registry.close());
  await registry.start();
  return { registry, admin: new MerchantAdmin({ store, registry, box, umsNotifyUrl: config.umsNotifyUrl, log }), box };
}

/** A merchant as the simulator knows one: the credentials UMS would hold for it. */
function simulatorCredentials(profile: MerchantProfile): SimCredentials {
  return {
    appId: profile.appId,
    appKey: profile.appKey.reveal(),
    notifyKey: profile.notifyKeys[0]?.reveal() ?? '',
    sourceId: profile.sourceId,
    mid: profile.mid,
    tid: profile.tid,
  };
}

async function startOwnSimulator(config: Config, log: Logger, parts: Parts): Promise<UmsSimulator> {
  // Its orders live beside the embedded database, so a restart keeps QR links, refunds and queries working.
  const stateFile = simulatorStateFile(config);
  const simulator = await startSimulator({ ...simulatorOptionsFromConfig(config, log), ...(stateFile ? { stateFile } : {}) });
  parts.add('simulator', () => simulator.close());
  log.info({ url: simulator.url, publicUrl: simulator.publicUrl }, 'UMS simulator listening (no UMS_BASE_URL: simulator mode)');
  return simulator;
}

function startScheduler(
  config: Config,
  deps: Pick<Parameters<typeof startSyncScheduler>[0], 'db' | 'commands' | 'idempotency'>,
  log: Logger,
  parts: Parts,
  onRound: Parameters<typeof startSyncScheduler>[0]['onRound'],
): SyncScheduler {
  const scheduler = startSyncScheduler({
    ...deps,
    config: { afterMs: config.paymentSyncAfterMs, intervalMs: config.paymentSyncIntervalMs },
    log: log.child({ room: 'sync' }),
    onRound,
  });
  parts.add('sync scheduler', () => scheduler.stop());
  return scheduler;
}

/** Listens on config.host:config.port and returns the URL (the real port when config.port is 0). */
async function listen(app: FastifyInstance, config: Config): Promise<string> {
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
}
