/**
 * Simulator options from the gateway's Config: the same UMS_* credentials (and demo defaults),
 * UMS_SIM_PORT and UMS_SIM_NOTIFY_BACKOFF_MS, so `npm run sim` and the in-process simulator of
 * `npm start` agree with the gateway's client with no set-up.
 */
import { dirname, basename, join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { SimulatorOptions } from './simulator.js';

export function simulatorOptionsFromConfig(config: Config, log?: Logger): SimulatorOptions {
  return {
    port: config.umsSimPort,
    host: config.host,
    credentials: {
      appId: config.umsAppId,
      appKey: config.umsAppKey.reveal(),
      notifyKey: config.umsNotifyKey.reveal(),
      sourceId: config.umsSourceId,
      mid: config.umsMid,
      tid: config.umsTid,
    },
    notifyBackoffMs: config.umsSimNotifyBackoffMs,
    ...(config.umsSimStateFile && config.umsSimStateFile !== MEMORY ? { stateFile: config.umsSimStateFile } : {}),
    // The merchant-configured URL: where notifications of orders created without notifyUrl go.
    notifyUrl: config.umsNotifyUrl,
    ...(config.umsSimPublicUrl ? { publicUrl: config.umsSimPublicUrl } : {}),
    ...(log ? { log: log.child({ component: 'ums-sim' }) } : {}),
  };
}

const MEMORY = 'memory://';

/**
 * The simulator's file under `npm start`: UMS_SIM_STATE_FILE when set (`memory://`: none), else
 * beside the embedded database's directory (`.data/pglite` → `.data/pglite-ums-sim.jsonl`), so
 * that both survive a restart together and two data directories never share one simulator. With
 * `memory://` PGlite or a DATABASE_URL the simulator keeps nothing, as before.
 */
export function simulatorStateFile(config: Pick<Config, 'umsSimStateFile' | 'pgliteDataDir' | 'databaseUrl'>): string | undefined {
  if (config.umsSimStateFile !== undefined) return config.umsSimStateFile === MEMORY ? undefined : config.umsSimStateFile;
  if (config.databaseUrl !== undefined || config.pgliteDataDir.startsWith(MEMORY)) return undefined;
  const dir = config.pgliteDataDir.replace(/[\\/]+$/, '');
  return join(dirname(dir), `${basename(dir)}-ums-sim.jsonl`);
}
