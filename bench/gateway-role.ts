/**
 * The gateway under test, exactly as `npm start` builds it (startGateway), on an ephemeral port,
 * with its built-in simulator, logging at `warn` so that log lines do not dominate the profile.
 */
import { randomBytes } from 'node:crypto';
import { count } from 'drizzle-orm';
import { startGateway } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { notifications } from '../src/db/schema.js';
import { insertNewOrder } from '../src/payments/ledger.js';
import { ApiKeyStore } from '../src/access/key-store.js';
import { DEFAULT_MERCHANT_ID } from '../src/merchants/ids.js';
import type { RunningRole } from './child.js';
import type { ChildSpec, SeedArgs } from './ipc.js';

/** Runs `task(i)` for i in [0, n) with at most `width` in flight. */
export async function inParallel(n: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

export async function startGatewayRole(spec: ChildSpec): Promise<RunningRole> {
  // The load comes from one address: the per-client limits would measure themselves, not the gateway.
  // A secret key of the run's own, as production has one: without it every gateway warns that it made one up.
  const env: NodeJS.ProcessEnv = { PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'warn', GRAPHQL_SANDBOX: 'false', RATE_LIMIT_PER_MINUTE: '0', WS_MAX_CONNECTIONS_PER_CLIENT: '0', GATEWAY_SECRET_KEY: randomBytes(32).toString('base64') };
  if (spec.databaseUrl) env.DATABASE_URL = spec.databaseUrl;
  if (spec.gatewayApiKeys) env.GATEWAY_API_KEYS = spec.gatewayApiKeys;
  const config = { ...loadConfig(env), port: 0, umsSimPort: 0, logLevel: 'warn' as const };
  const gateway = await startGateway(config);
  const { db } = gateway.database;

  return {
    url: gateway.url,
    commands: {
      /** New orders (NEW_ORDER, 100 fen), through the ledger as createPayment stores them. */
      seed: async (args) => {
        const { prefix, count: n } = args as SeedArgs;
        const started = performance.now();
        await inParallel(n, 16, (i) =>
          insertNewOrder(db, { merOrderId: `${prefix}${i}`, totalAmount: 100, mid: config.umsMid, tid: config.umsTid, channel: 'WECHAT_MINI' }),
        );
        return performance.now() - started;
      },
      /** Stored notifications by outcome (applied, duplicate, …): proof of what a run did. */
      outcomes: async () => {
        const rows = await db.select({ outcome: notifications.outcome, n: count() }).from(notifications).groupBy(notifications.outcome);
        return Object.fromEntries(rows.map((r) => [r.outcome ?? 'null', Number(r.n)]));
      },
      /**
       * A run-time key bound to the default merchant (whose payments `seed` creates), `read` scope,
       * created as `createApiKey` stores one; answered once the gateway's key cache holds it.
       */
      merchantKey: async () => {
        const store = new ApiKeyStore(db);
        const { text } = await store.create({ name: 'bench', scopes: ['read'], expiresAt: null, merchantId: DEFAULT_MERCHANT_ID });
        for (let i = 0; i < 200; i++) {
          const response = await fetch(`${gateway.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${text}` },
            body: JSON.stringify({ query: '{ payment(merOrderId: "none") { merOrderId } }' }),
          });
          const json = (await response.json()) as { data?: { payment: null }; errors?: unknown[] };
          if (json.data && !json.errors) return text;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        throw new Error('the gateway never accepted the new run-time key');
      },
      subscriptions: async () => {
        const { values } = await gateway.metrics.subscriptionsOpen.get();
        return values[0]?.value ?? 0;
      },
    },
    close: () => gateway.close(),
  };
}
