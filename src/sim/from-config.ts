/**
 * Simulator options from the gateway's Config: the same UMS_* credentials (and demo defaults),
 * UMS_SIM_PORT and UMS_SIM_NOTIFY_BACKOFF_MS, so `npm run sim` and the in-process simulator of
 * `npm start` agree with the gateway's client with no set-up.
 */
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
    // The merchant-configured URL: where notifications of orders created without notifyUrl go.
    notifyUrl: config.umsNotifyUrl,
    ...(config.umsSimPublicUrl ? { publicUrl: config.umsSimPublicUrl } : {}),
    ...(log ? { log: log.child({ component: 'ums-sim' }) } : {}),
  };
}
