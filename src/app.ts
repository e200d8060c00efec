/**
 * The composition root: one function that builds a whole gateway instance from a Config, used by
 * main.ts, by the end-to-end tests (two instances on one database) and by the benchmarks.
 *
 * Order matters in both directions. Start: database (migrated) → simulator (simulator mode) →
 * UMS client → bus → payment commands → scheduler → HTTP. Close: stop taking HTTP work and drain
 * in-flight requests (a notification being stored finishes and is answered) and subscriptions →
 * finish the scheduler's round → bus → simulator → client → database.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { PostgresBus } from './events/postgres-bus.js';
import { NotificationBatcher, NotificationRetention } from './payments/ledger.js';
import { createGraphQL } from './graphql/plugin.js';
import { buildServer } from './http/server.js';
import { notifyRoute } from './http/notify.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, metricsPlugin, observeNotification, observeUmsCall, type Metrics } from './metrics.js';
import { createPaymentCommands } from './payments/commands.js';
import { Idempotency } from './payments/idempotency.js';
import { startSyncScheduler, type SyncScheduler } from './payments/sync/scheduler.js';
import { UmsClient } from './ums/client.js';
import { merchantFromConfig, UmsOperations } from './ums/operations.js';
import { simulatorOptionsFromConfig } from './sim/from-config.js';
import { startSimulator, type UmsSimulator } from './sim/simulator.js';

export interface GatewayOptions {
  log?: Logger;
  /** Listen on config.host:config.port (default true). Tests pass `port: 0` in the config. */
  listen?: boolean;
  /** Run the sync scheduler (default true). */
  scheduler?: boolean;
  /** Use this simulator instead of starting one (simulator mode only; it is not closed by us). */
  simulator?: UmsSimulator;
  /** Metrics of the Node process itself (default true; tests with several instances turn it off). */
  defaultMetrics?: boolean;
}

export interface Gateway {
  app: FastifyInstance;
  /** Where the gateway listens, e.g. http://127.0.0.1:4000 (empty when not listening). */
  url: string;
  database: DatabaseHandle;
  metrics: Metrics;
  scheduler: SyncScheduler | undefined;
  /** The built-in simulator in simulator mode. */
  simulator: UmsSimulator | undefined;
  /** Drains and closes everything, in order; idempotent. */
  close(): Promise<void>;
}

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const log = options.log ?? createLogger(config.logLevel);
  const closers: { name: string; close: () => Promise<unknown> }[] = [];
  const closeAll = async () => {
    for (const { name, close } of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        log.error({ err, part: name }, 'error while closing');
      }
    }
  };

  try {
    const database = await openDatabase({
      ...(config.databaseUrl ? { url: config.databaseUrl.reveal() } : { pgliteDataDir: config.pgliteDataDir }),
      log,
    });
    closers.push({ name: 'database', close: () => database.close() });
    const { db } = database;

    let simulator = options.simulator;
    if (config.umsBaseUrl === undefined && simulator === undefined) {
      simulator = await startSimulator(simulatorOptionsFromConfig(config, log));
      const started = simulator;
      closers.push({ name: 'simulator', close: () => started.close() });
      log.info({ url: simulator.url }, 'UMS simulator listening (no UMS_BASE_URL: simulator mode)');
    }
    const simulatorMode = config.umsBaseUrl === undefined;

    const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? true });
    const client = UmsClient.fromConfig(config, {
      ...(simulator ? { baseUrl: simulator.url } : {}),
      logger: log.child({ room: 'ums' }),
      onCall: observeUmsCall(metrics),
    });
    closers.push({ name: 'ums client', close: () => client.close() });
    const ums = new UmsOperations(client, merchantFromConfig(config));

    const bus = await PostgresBus.start({ db, listener: database, log: log.child({ room: 'bus' }) });
    closers.push({ name: 'bus', close: () => bus.close() });

    const idempotency = new Idempotency(db);
    const commands = createPaymentCommands({
      db,
      ums,
      client,
      sourceId: config.umsSourceId,
      syncAfterMs: config.paymentSyncAfterMs,
      log: log.child({ room: 'payments' }),
      idempotency,
      ...(simulatorMode && simulator ? { simulator } : {}),
    });

    let scheduler: SyncScheduler | undefined;
    if (options.scheduler ?? true) {
      scheduler = startSyncScheduler({
        db,
        commands,
        idempotency,
        config: { afterMs: config.paymentSyncAfterMs, intervalMs: config.paymentSyncIntervalMs },
        log: log.child({ room: 'sync' }),
      });
      const started = scheduler;
      closers.push({ name: 'sync scheduler', close: () => started.stop() });
    }

    // The ledger's long-lived parts: group commit of notifications, and raw-body retention (0: keep bodies).
    const notificationBatcher = new NotificationBatcher(db);
    if (config.rawNotificationRetentionDays > 0) {
      const retention = new NotificationRetention({ db, retentionDays: config.rawNotificationRetentionDays, log: log.child({ room: 'retention' }) });
      retention.start();
      closers.push({ name: 'notification retention', close: () => retention.stop() });
    }

    const graphql = createGraphQL({ config, db, bus, commands, simulatorMode, log: log.child({ room: 'graphql' }), metrics });
    const keys = [config.umsNotifyKey, config.umsNotifyKeyPrevious].flatMap((k) => (k ? [k.reveal()] : []));
    const app = await buildServer({
      log,
      ready: () => database.ready(),
      plugins: [
        notifyRoute({ db, batcher: notificationBatcher, keys: () => keys, log: log.child({ room: 'notify' }), onOutcome: observeNotification(metrics) }),
        graphql.plugin,
        metricsPlugin(metrics),
      ],
    });
    // Closing the app drains HTTP requests and (through the GraphQL room's hook) subscriptions.
    closers.push({ name: 'graphql', close: () => graphql.close() });
    closers.push({ name: 'http', close: () => app.close() });

    let url = '';
    if (options.listen ?? true) {
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    }

    let closing: Promise<void> | undefined;
    return {
      app,
      url,
      database,
      metrics,
      scheduler,
      simulator,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
