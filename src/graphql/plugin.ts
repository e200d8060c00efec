/**
 * The GraphQL room as one Fastify plugin: Apollo Server 5 on `POST/GET /graphql` (Sandbox on
 * `GET` with `Accept: text/html` when enabled), graphql-ws on the same path, both on one schema
 * with the same auth, limits and error masking.
 *
 * Wiring (main.ts):
 *   const graphql = createGraphQL({ config, db, bus, commands, simulatorMode, log, metrics });
 *   buildServer({ plugins: [graphql.plugin, metricsPlugin(metrics), …] })
 *   …at shutdown, app.close() drains it (WebSockets in preClose, Apollo in onClose);
 *   graphql.close() does both, for a caller that never built the app.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyPluginAsync } from 'fastify';
import { identify } from './auth.js';
import { createContext, type GraphQLContext, type GraphQLServices } from './context.js';
import { maskError } from './errors.js';
import { DEFAULT_LIMITS, queryLimitsRule, type QueryLimits } from './limits.js';
import { OperationRecorder, operationMetricsPlugin } from './operation-metrics.js';
import { buildGatewaySchema } from './schema.js';
import { attachWebSocket, type GraphQLWebSocket } from './websocket.js';

export interface GraphQLDeps extends GraphQLServices {
  limits?: Partial<QueryLimits>;
  /** graphql-ws: how long a client may take to send connection_init (default 3000 ms). */
  wsInitTimeoutMs?: number;
  /** graphql-ws: ws ping period (default 12000 ms). */
  wsKeepAliveMs?: number;
  /**
   * graphql-ws: subscriptions one socket may have open at once (default 100); one more is
   * refused with extensions.code RATE_LIMITED.
   */
  wsMaxSubscriptionsPerConnection?: number;
}

export interface GraphQLRoom {
  /** Register on the Fastify app (it is `fastify-plugin`-free: routes live in their own context). */
  plugin: FastifyPluginAsync;
  /** Closes WebSocket subscriptions and stops Apollo; idempotent, also run by app.close(). */
  close(): Promise<void>;
}

export const GRAPHQL_PATH = '/graphql';

/** Enough for any real screen (one per order shown, or one per merchant); far below abuse. */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;

export function createGraphQL(deps: GraphQLDeps): GraphQLRoom {
  const { config, db, bus, commands, simulatorMode, log, metrics } = deps;
  const services: GraphQLServices = { config, db, bus, commands, simulatorMode, log, metrics };
  const limits: QueryLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const sandbox = deps.config.graphqlSandbox;
  const recorder = new OperationRecorder(deps.metrics);
  let apollo: ApolloServer<GraphQLContext> | undefined;
  let socket: GraphQLWebSocket | undefined;
  let closing: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closing ??= (async () => {
      await socket?.close();
      await apollo?.stop();
    })();
    return closing;
  };

  const plugin: FastifyPluginAsync = async (app) => {
    const schema = await buildGatewaySchema({ simulatorMode: deps.simulatorMode });
    socket = attachWebSocket({
      server: app.server,
      path: GRAPHQL_PATH,
      schema,
      services,
      limits,
      introspection: sandbox,
      recorder,
      initTimeoutMs: deps.wsInitTimeoutMs ?? 3000,
      keepAliveMs: deps.wsKeepAliveMs ?? 12_000,
      maxSubscriptionsPerConnection: deps.wsMaxSubscriptionsPerConnection ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    });

    const plugins: ApolloServerPlugin<GraphQLContext>[] = [
      operationMetricsPlugin(recorder),
      // No cache hints are used: computing a cache policy for every field is pure overhead.
      ApolloServerPluginCacheControlDisabled(),
      sandbox
        ? ApolloServerPluginLandingPageLocalDefault({ embed: { endpointIsEditable: false, runTelemetry: false }, footer: false, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
      // WebSocket subscriptions end before Apollo reports itself stopped.
      { serverWillStart: async () => ({ drainServer: async () => socket?.close() }) },
    ];

    apollo = new ApolloServer<GraphQLContext>({
      schema,
      introspection: sandbox,
      csrfPrevention: true,
      includeStacktraceInErrorResponses: false,
      hideSchemaDetailsFromClientErrors: !sandbox,
      formatError: (formatted, error) => maskError(formatted, error, deps.log),
      validationRules: [queryLimitsRule(limits)],
      plugins,
      logger: deps.log,
      // main.ts owns the process signals; app.close() stops Apollo through the onClose hook.
      stopOnTerminationSignals: false,
    });
    await apollo.start();

    const handler = fastifyApolloHandler(apollo, {
      context: async (request) => {
        const key = request.headers['idempotency-key'];
        return createContext(services, identify(request.headers.authorization, deps.config.apiKeys), Array.isArray(key) ? key[0] : key);
      },
    });
    app.route({ method: ['GET', 'POST', 'OPTIONS'], url: GRAPHQL_PATH, handler });
    // WebSockets first (preClose): open upgrades would keep the HTTP server from closing.
    // Apollo last (onClose): HTTP requests still in flight finish before it stops.
    app.addHook('preClose', async () => socket?.close());
    app.addHook('onClose', async () => close());
  };

  return { plugin, close };
}
