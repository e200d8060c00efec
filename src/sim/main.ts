/**
 * `npm run sim`: the UMS simulator alone on UMS_SIM_PORT (default 4100), with the same UMS_*
 * credentials and demo defaults as the gateway, so both sides agree with no set-up.
 */
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { simulatorOptionsFromConfig } from './from-config.js';
import { startSimulator } from './simulator.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const sim = await startSimulator(simulatorOptionsFromConfig(config, log));
  log.info({ url: sim.url, appId: config.umsAppId, mid: config.umsMid, tid: config.umsTid, sourceId: config.umsSourceId }, `UMS simulator listening on ${sim.url}`);

  const stop = (signal: string) => {
    log.info({ signal }, 'UMS simulator stopping');
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
