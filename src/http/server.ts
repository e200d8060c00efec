/**
 * The Fastify app: probes, and whatever routes the other rooms register as plugins (notify,
 * GraphQL, metrics). Graceful shutdown lives in main.ts, which owns the process.
 */
import Fastify, {
  LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from '../log.js';

export interface ServerOptions {
  log: Logger;
  /** Readiness: true when the database answers and migrations are applied. */
  ready: () => Promise<boolean>;
  /** Route plugins, registered in order. */
  plugins?: readonly FastifyPluginAsync[];
  /** Slow-client limits; the defaults are README.md's (tests pass smaller ones). */
  timeouts?: Partial<HttpTimeouts>;
}

export interface HttpTimeouts {
  /** The request head (line and headers) must arrive within this. */
  headersMs: number;
  /** The whole request (head and body) must arrive within this. */
  requestMs: number;
  /** How often Node looks for connections past those limits (its default is 30 s). */
  checkEveryMs: number;
}

export const HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, requestMs: 30_000, checkEveryMs: 1_000 };

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const timeouts = { ...HTTP_TIMEOUTS, ...options.timeouts };
  const app = Fastify({
    // A client that dribbles its request (slow-loris) would otherwise hold a socket for ever.
    // Node answers 408 and closes; it looks for such connections every checkEveryMs, so a slow
    // one is closed within that much of its limit. Upgraded WebSockets are not requests: unaffected.
    requestTimeout: timeouts.requestMs,
    http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: timeouts.checkEveryMs },
    loggerInstance: options.log as FastifyBaseLogger,
    // Notifications are small; GraphQL documents too. Routes that need less say so themselves.
    bodyLimit: 1024 * 1024,
    // Shutdown waits for in-flight requests but must not hang on idle keep-alive sockets.
    forceCloseConnections: 'idle',
    // A request already on an open connection when shutdown starts is served, not refused:
    // Fastify answers it with `Connection: close`, the database closes only after app.close()
    // has drained it, so a late notification is stored and answered SUCCESS instead of getting
    // a JSON 503 where UMS expects the plain `FAILED` vocabulary.
    return503OnClosing: false,
    // One structured line per notification or UMS call is written by those rooms; per-request
    // access logs would double them.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    let ok = false;
    try {
      ok = await options.ready();
    } catch {
      ok = false;
    }
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready' });
  });

  for (const plugin of options.plugins ?? []) await app.register(plugin);
  return app;
}
