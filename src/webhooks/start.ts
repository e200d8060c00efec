/**
 * The webhooks room put together for one gateway instance (app.ts): the secret box, the URL
 * policy of the mode, the sender, the engine (dispatcher and workers) and the admin GraphQL calls.
 */
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { PaymentBus } from '../events/bus.js';
import type { ListenSource } from '../events/postgres-bus.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { WebhookAdmin } from './admin.js';
import { WebhookEngine } from './engine.js';
import { MISSING_SECRET_KEY, type SecretBox } from './secret-box.js';
import { WebhookSender } from './sender.js';
import type { UrlPolicy } from './url-policy.js';

export interface Webhooks {
  admin: WebhookAdmin;
  engine: WebhookEngine;
  close(): Promise<void>;
}

export function urlPolicyOf(config: Pick<Config, 'webhookAllowPrivate'>, simulatorMode: boolean): UrlPolicy {
  return { allowHttp: simulatorMode, allowLoopback: simulatorMode, allowPrivate: config.webhookAllowPrivate };
}

export async function startWebhooks(deps: {
  config: Config;
  db: Database;
  listener: ListenSource;
  bus: PaymentBus;
  simulatorMode: boolean;
  log: Logger;
  metrics: Metrics;
  /** GATEWAY_SECRET_KEY's box (src/merchants/secret-key.ts); undefined: live mode without the key. */
  box: SecretBox | undefined;
  /** Tests: a shorter safety-net period. */
  pollMs?: number;
}): Promise<Webhooks> {
  const { config, db, log } = deps;
  const box = deps.box ?? MISSING_SECRET_KEY;
  const policy = urlPolicyOf(config, deps.simulatorMode);
  const perEndpoint = 4;
  const sender = new WebhookSender(policy, config.webhookTimeoutMs, perEndpoint, (host, why) => log.warn({ host, why }, 'webhook host refused or unresolved at delivery'));
  let engine: WebhookEngine | undefined;
  const admin = new WebhookAdmin(db, box, policy, () => engine?.kick(), (why) => log.warn({ why }, 'webhook URL refused after resolving its host'));
  engine = await WebhookEngine.start({
    db,
    listener: deps.listener,
    bus: deps.bus,
    endpoints: admin.endpoints,
    sender,
    retryScheduleMs: config.webhookRetryScheduleMs,
    timeoutMs: config.webhookTimeoutMs,
    perEndpoint,
    log,
    ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
    onAttempt: (outcome) => deps.metrics.webhookDeliveries.inc({ outcome }),
  });
  const started = engine;
  return {
    admin,
    engine: started,
    async close() {
      await started.close();
      await sender.close();
    },
  };
}
