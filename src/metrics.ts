/**
 * Prometheus metrics (prom-client) and the `GET /metrics` route.
 *
 * One Registry per gateway instance rather than prom-client's global one, so that two instances
 * in one process (tests) do not collide on metric names. The rooms that measure something take
 * the `Metrics` object they need: GraphQL records operations and open subscriptions, the notify
 * route records notifications, the UMS client records calls.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** GraphQL operations: `operation` (name, or `anonymous`), `type` (query/mutation/subscription), `outcome` (success/error/invalid). */
  readonly graphqlOperations: Histogram<'operation' | 'type' | 'outcome'>;
  /** Notifications received at `/notify/ums`: `outcome` (applied/duplicate/stale/bad_signature/malformed/failed…). */
  readonly notifications: Counter<'outcome'>;
  /** Subscriptions currently open on this instance (graphql-ws operations). */
  readonly subscriptionsOpen: Gauge;
  /** Calls to the UMS Open API: `service` (e.g. netpay/query), `errCode` (`SUCCESS`, a UMS code, or `TIMEOUT`/`NET_ERROR`…). */
  readonly umsCalls: Histogram<'service' | 'errCode'>;
  /** 1 while the last UMS call got an answer from UMS (any errCode), 0 after one that could not reach it. */
  readonly umsReachable: Gauge;
  /** Questions the sync scheduler asked UMS: `outcome` (answered/failed). */
  readonly syncQuestions: Counter<'outcome'>;
  /** Webhook attempts made by this instance: `outcome` (SUCCEEDED/RETRYING/FAILED/lost). */
  readonly webhookDeliveries: Counter<'outcome'>;
  /** Webhook attempts queued (PENDING), read from the database when scraped. */
  readonly webhookQueueDepth: Gauge;
  /** Seconds the oldest due webhook attempt has waited, read when scraped. */
  readonly webhookOldestPendingSeconds: Gauge;
}

/** What the webhook queue gauges read when scraped (set once the webhook engine exists). */
export type WebhookQueueReader = () => Promise<{ pending: number; oldestDueAgeSeconds: number }>;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(options: { defaultMetrics?: boolean; webhookQueue?: () => WebhookQueueReader | undefined } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  // One read serves both gauges of a scrape.
  let queueRead: Promise<{ pending: number; oldestDueAgeSeconds: number }> | undefined;
  const readQueue = async () => {
    const reader = options.webhookQueue?.();
    if (!reader) return undefined;
    queueRead ??= reader().finally(() => setTimeout(() => (queueRead = undefined), 100));
    return queueRead.catch(() => undefined);
  };
  return {
    registry,
    graphqlOperations: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operations by name, type and outcome, with their latency',
      labelNames: ['operation', 'type', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'ums_notifications_total',
      help: 'UMS notifications received, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    subscriptionsOpen: new Gauge({
      name: 'graphql_subscriptions_open',
      help: 'GraphQL subscriptions currently open on this instance',
      registers: [registry],
    }),
    umsCalls: new Histogram({
      name: 'ums_call_duration_seconds',
      help: 'Calls to the UMS Open API by service and errCode, with their latency',
      labelNames: ['service', 'errCode'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    umsReachable: new Gauge({
      name: 'ums_reachable',
      help: '1 while the last call to UMS got an answer from UMS (any errCode), 0 after one that could not reach it',
      registers: [registry],
    }),
    syncQuestions: new Counter({
      name: 'payment_sync_questions_total',
      help: 'Questions the sync scheduler asked UMS (query, close, refund-query), by outcome (answered/failed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook attempts made by this instance, by outcome (SUCCEEDED, RETRYING, FAILED, lost: the claim had expired)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookQueueDepth: new Gauge({
      name: 'webhook_queue_depth',
      help: 'Webhook attempts queued (PENDING), gateway-wide',
      registers: [registry],
      async collect() {
        const stats = await readQueue();
        if (stats) this.set(stats.pending);
      },
    }),
    webhookOldestPendingSeconds: new Gauge({
      name: 'webhook_oldest_pending_seconds',
      help: 'Seconds the oldest due webhook attempt has waited, gateway-wide',
      registers: [registry],
      async collect() {
        const stats = await readQueue();
        if (stats) this.set(stats.oldestDueAgeSeconds);
      },
    }),
  };
}

/** A label value from outside (service names come from admins' callUms): short and plain, else `other`. */
function safeLabel(value: string | undefined, fallback: string): string {
  if (!value) return fallback;
  return /^[A-Za-z0-9_./-]{1,64}$/.test(value) ? value : 'other';
}

/**
 * For `new UmsClient({ onCall })`: one observation per UMS call. `errCode` is UMS's errCode, or
 * the client's outcome in capitals when UMS gave none (`UNKNOWN` for a timeout, `ERROR`).
 */
export function observeUmsCall(
  metrics: Metrics,
): (info: { service: string; errCode?: string; outcome: string; ms: number; httpStatus?: number }) => void {
  return (info) => {
    const errCode = info.errCode ?? (info.outcome === 'ok' ? 'SUCCESS' : info.outcome.toUpperCase());
    metrics.umsCalls.observe({ service: safeLabel(info.service, 'unknown'), errCode: safeLabel(errCode, 'other') }, info.ms / 1000);
    // UMS answered (a refusal is an answer) unless the call timed out, failed to connect or got a 5xx.
    const answered = info.outcome === 'ok' || info.outcome === 'business-error' || (info.httpStatus !== undefined && info.httpStatus < 500);
    metrics.umsReachable.set(answered ? 1 : 0);
  };
}

/** For `startSyncScheduler({ onRound })`: the questions of each round, answered or failed. */
export function observeSyncRound(metrics: Metrics): (round: { questions: number; errors: readonly unknown[] }) => void {
  return (round) => {
    metrics.syncQuestions.inc({ outcome: 'answered' }, round.questions - round.errors.length);
    metrics.syncQuestions.inc({ outcome: 'failed' }, round.errors.length);
  };
}

/** For `notifyRoute({ onOutcome })`: one count per notification, by outcome (applied, duplicate, rejected…). */
export function observeNotification(metrics: Metrics): (result: { outcome: string }) => void {
  return (result) => metrics.notifications.inc({ outcome: safeLabel(result.outcome, 'other') });
}

/** Compared as digests so neither the length nor the content leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * `GET /metrics` in the Prometheus text format. With `key` (METRICS_KEY) it answers only
 * `Authorization: Bearer <key>`: metrics show traffic and error rates, not for everyone.
 */
export function metricsPlugin(metrics: Metrics, options: { key?: { reveal(): string } | undefined } = {}): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (req, reply) => {
      if (options.key) {
        const header = req.headers.authorization ?? '';
        const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
        if (!sameSecret(given, options.key.reveal())) {
          return reply.code(401).header('WWW-Authenticate', 'Bearer realm="metrics"').send({ error: 'metrics need Authorization: Bearer <METRICS_KEY>' });
        }
      }
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    });
  };
}
