/**
 * A real gateway for GraphQL tests: Fastify on an ephemeral port with the GraphQL room, the
 * `/metrics` route, and the Postgres LISTEN/NOTIFY bus on the given database, plus small real
 * clients (fetch for HTTP, graphql-ws over `ws` for subscriptions).
 */
import 'reflect-metadata';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { createClient, type Client } from 'graphql-ws';
import type { FormattedExecutionResult } from 'graphql';
import { pino } from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import type { Database, DatabaseHandle } from '../../src/db/database.js';
import { PostgresBus } from '../../src/events/postgres-bus.js';
import { createGraphQL, type GraphQLDeps } from '../../src/graphql/plugin.js';
import { buildServer } from '../../src/http/server.js';
import { createMetrics, metricsPlugin, type Metrics } from '../../src/metrics.js';
import type { PaymentCommands } from '../../src/payments/commands-api.js';

export const silent = pino({ level: 'silent' });

/** Counts `db.select()` calls made by the resolvers (pass `.db` as GatewayOptions.db). */
export function countingDatabase(db: Database): { db: Database; count: () => number; reset: () => void } {
  let selects = 0;
  const proxy = new Proxy(db, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property === 'select' && typeof value === 'function') {
        return (...args: unknown[]) => {
          selects += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
  return { db: proxy, count: () => selects, reset: () => (selects = 0) };
}

export interface TestGateway {
  app: FastifyInstance;
  url: string;
  wsUrl: string;
  bus: PostgresBus;
  metrics: Metrics;
  close(): Promise<void>;
}

export interface GatewayOptions {
  handle: DatabaseHandle;
  /** GATEWAY_API_KEYS, e.g. `r:read,p:pay`. */
  apiKeys?: string;
  env?: NodeJS.ProcessEnv;
  commands?: PaymentCommands;
  simulatorMode?: boolean;
  /** Wraps the database the resolvers see (e.g. to count queries). */
  db?: Database;
  extra?: Partial<GraphQLDeps>;
  catchUpIntervalMs?: number;
  /** More route plugins on the same app (e.g. the notify endpoint). */
  plugins?: (metrics: Metrics) => FastifyPluginAsync[];
}

/** Commands that refuse everything: for tests that only read. */
export const noCommands: PaymentCommands = {
  create: () => Promise.reject(new Error('not in this test')),
  sync: () => Promise.reject(new Error('not in this test')),
  close: () => Promise.reject(new Error('not in this test')),
  refund: () => Promise.reject(new Error('not in this test')),
  callUms: () => Promise.reject(new Error('not in this test')),
};

export async function startGateway(options: GatewayOptions): Promise<TestGateway> {
  // Production refuses simulator mode at start-up; these tests only need production's GraphQL
  // behaviour (no hints, no Sandbox), so the mode is set after the environment is read.
  const { NODE_ENV: nodeEnv, ...env } = options.env ?? {};
  const loaded = loadConfig({ GATEWAY_API_KEYS: options.apiKeys, ...env });
  const config = nodeEnv === 'production' ? { ...loaded, nodeEnv, graphqlSandbox: env.GRAPHQL_SANDBOX === 'true' } : loaded;
  const metrics = createMetrics({ defaultMetrics: false });
  const bus = await PostgresBus.start({
    db: options.handle.db,
    listener: options.handle,
    log: silent,
    catchUpIntervalMs: options.catchUpIntervalMs ?? 0,
    onNotification: (outcome) => metrics.notifications.inc({ outcome: `bus_${outcome}` }),
  });
  const graphql = createGraphQL({
    config,
    db: options.db ?? options.handle.db,
    bus,
    commands: options.commands ?? noCommands,
    simulatorMode: options.simulatorMode ?? true,
    log: silent,
    metrics,
    keyListener: options.handle,
    ...options.extra,
  });
  const app = await buildServer({ log: silent, ready: () => options.handle.ready(), plugins: [graphql.plugin, metricsPlugin(metrics), ...(options.plugins?.(metrics) ?? [])] });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    app,
    url: `http://127.0.0.1:${address.port}/graphql`,
    wsUrl: `ws://127.0.0.1:${address.port}/graphql`,
    bus,
    metrics,
    async close() {
      await app.close();
      await bus.close();
    },
  };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; stacktrace?: unknown }; path?: (string | number)[] }[];
  headers: Headers;
}

/** POSTs one operation as a browser app would (JSON, so CSRF prevention lets it through). */
export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: { data?: T | null; errors?: GraphQLResponse['errors'] } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { errors: [{ message: text }] };
  }
  return { status: res.status, headers: res.headers, ...body };
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** A graphql-ws client as a frontend would use it (lazy: false, so connection errors show up). */
export function wsClient(
  url: string,
  connectionParams?: Record<string, unknown>,
  options: { origin?: string } = {},
): { client: Client; closed: Promise<{ code: number; reason: string }> } {
  let onClosed: (event: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
  const { origin } = options;
  // A browser sends its page's Origin on the upgrade; `ws` does so when told.
  const impl =
    origin === undefined
      ? WebSocket
      : class extends WebSocket {
          constructor(address: string | URL, protocols?: string | string[]) {
            super(address, protocols, { origin });
          }
        };
  const client = createClient({
    url,
    webSocketImpl: impl,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    on: { closed: (event) => onClosed(event as { code: number; reason: string }) },
    onNonLazyError: () => {},
  });
  return { client, closed };
}

/** Collects the results of one subscription; `next(n)` waits for the n-th. */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const results: FormattedExecutionResult<T, unknown>[] = [];
  let error: unknown;
  let completed = false;
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        results.push(value);
        wake();
      },
      error: (err) => {
        error = err;
        wake();
      },
      complete: () => {
        completed = true;
        wake();
      },
    },
  );
  const until = async (predicate: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(results)} error=${String(error)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return {
    results,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    /** Waits until `count` results have arrived. */
    next: (count: number, timeoutMs = 15_000) => until(() => results.length >= count, timeoutMs, `${count} result(s)`),
    settled: (timeoutMs = 15_000) => until(() => error !== undefined || completed, timeoutMs, 'error or completion'),
    dispose,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
