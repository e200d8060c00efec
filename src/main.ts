/**
 * Entry point: read the config, start one gateway instance (src/app.ts), and drain it on
 * SIGTERM/SIGINT: stop taking work, finish in-flight requests (a notification being stored is
 * answered; anything not answered SUCCESS is retried by UMS), finish the scheduler's round, close
 * the database.
 */
import 'reflect-metadata';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startPgliteWorker } from './db/pglite-worker.js';
import { reachableUrl } from './lib/reachable-url.js';
import { createLogger } from './log.js';

async function main(config: Config): Promise<void> {
  // PGlite starts in a worker thread first, and the gateway's modules (app.ts and everything it
  // imports) load meanwhile on this thread: the two largest shares of a cold start run side by
  // side (bench/README.md "Cold start"). With DATABASE_URL there is nothing to start early.
  const pgliteWorker = config.databaseUrl ? undefined : startPgliteWorker(config.pgliteDataDir);
  const { startGateway } = await import('./app.js');
  const log = createLogger(config.logLevel);
  if (config.umsBaseUrl === undefined) {
    log.warn('simulator mode: no UMS_BASE_URL, payments go to the built-in UMS simulator');
  }
  if (config.apiKeys.length === 0) {
    log.warn('GATEWAY_API_KEYS is unset: the GraphQL API is open to everyone (acceptable in simulator mode only)');
  }
  log.info({ database: config.databaseUrl ? 'postgres' : `pglite (${config.pgliteDataDir})` }, 'opening the database');

  const gateway = await startGateway(config, { log, ...(pgliteWorker ? { pgliteWorker } : {}) });
  log.info({ url: gateway.url, graphql: `${gateway.url}/graphql` }, 'gateway listening');
  if (config.demoPage) {
    // What a person opens first; on 0.0.0.0 an address the rest of the network can open too.
    const storefront = `${config.publicUrl ?? reachableUrl(config.host, config.port)}/`;
    log.info({ storefront }, `demo storefront: open ${storefront}`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining requests, subscriptions and the sync round');
    await gateway.close();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    // Every problem at once, one line each: one run of fixes instead of one run per variable.
    process.stderr.write(err.problems.map((line) => `configuration error: ${line}\n`).join(''));
    process.exit(1);
  }
  throw err;
}
main(config).catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
