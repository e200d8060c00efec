/**
 * The GraphQL room as one Fastify plugin: Apollo Server 5 on `POST/GET /graphql` (Sandbox on
 * `GET` with `Accept: text/html` when enabled), graphql-ws on the same path (a `GET` upgrade,
 * through @fastify/websocket), both on one schema with the same auth, limits and error masking.
 *
 * createGraphQL is the room's composition: it builds the read side (prepared statements), the key
 * ring and, once registered, the schema, the document admission and the caller limits, and hands
 * them down; nothing long-lived is kept in module state.
 *
 * Wiring (app.ts):
 *   const graphql = createGraphQL({ config, db, bus, commands, simulatorMode, log, metrics, keyListener: database });
 *   buildServer({ plugins: [graphql.plugin, metricsPlugin(metrics), …] })
 *   …at shutdown, app.close() drains it (WebSockets in preClose, Apollo in onClose);
 *   graphql.close() does both, for a caller that never built the app.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { NoSchemaIntrospectionCustomRule, specifiedRules, type GraphQLSchema } from 'graphql';
import { handleProtocols } from 'graphql-ws';
import type { WebSocketServer } from 'ws';
import { errorSummary } from '../lib/errors.js';
import type { ListenSource } from '../events/postgres-bus.js';
import { ApiKeyCache } from '../access/key-cache.js';
import { ApiKeyStore } from '../access/key-store.js';
import { clientSecretsFromConfig, type ClientSecrets } from '../access/client-secret.js';
import { SEES_ALL } from '../access/visibility.js';
import { ApiKeyRing } from './auth.js';
import { clientOf, operationQuota, SocketCounter } from './caller-limits.js';
import { registerCors, webSocketOriginCheck } from './cors.js';
import { createContext, type GraphQLContext, type GraphQLServices } from './context.js';
import { PaymentReads } from './data.js';
import { maskError, withoutSuggestion } from './errors.js';
import { answerFast, FastQueries } from './fast-queries.js';
import { TrustedDocuments, trustedDocumentsHook } from './trusted-documents.js';
import { operationQuotaPlugin, routeGuards } from './http-limits.js';
import { DEFAULT_LIMITS, documentShapeError, GRAPHQL_BODY_LIMIT, parseOptions, queryLimitsRule, type QueryLimits } from './limits.js';
import { OperationRecorder, operationMetricsPlugin } from './operation-metrics.js';
import { buildGatewaySchema } from './schema.js';
import { closeWebSockets, graphqlWebSocketHandler } from './websocket.js';
import { OperationAdmission } from './ws-admission.js';
import { WebSocketKeyWatch } from './ws-key-watch.js';
import { lazyChildLoggerFactory } from '../http/lazy-child-logger.js';
import { ClientSecretExpiry } from './ws-client-expiry.js';

export interface GraphQLDeps extends Omit<GraphQLServices, 'reads' | 'apiKeys' | 'clientSecrets'> {
  /** True for a merchant set `enabled: false`: its keys stop working (the registry, in memory). */
  merchantDisabled?: (merchantId: string) => boolean;
  /** The payments' client secrets; derived from the default merchant's UMS secrets when left out. */
  clientSecrets?: ClientSecrets;
  /** How often a client secret's open WebSocket re-reads its payment at most (tests shorten it). */
  clientSecretExpiry?: { recheckMs?: number };
  /** Where run-time key changes are heard (the database handle: LISTEN api_key_changed). */
  keyListener: ListenSource;
  /** Run-time keys: how often use is written, and the safety-net reload period (tests shorten them). */
  keyCache?: { touchIntervalMs?: number; refreshIntervalMs?: number };
  /** The read side; built over `db` when left out (tests pass one that fails on demand). */
  reads?: PaymentReads;
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
  /** false: every POST goes through Apollo's pipeline (tests compare both roads). Default on. */
  fastQueries?: boolean;
  /**
   * The schema, already being built (startGateway starts it before opening the database, which
   * it does not need: the two overlap when PGlite opens in its worker). Built here when left out.
   */
  schema?: Promise<GraphQLSchema>;
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
  const store = new ApiKeyStore(db);
  const cache = new ApiKeyCache({ store, listener: deps.keyListener, log, ...deps.keyCache });
  const apiKeys = { store, cache };
  const reads = deps.reads ?? new PaymentReads(db);
  const clientSecrets = deps.clientSecrets ?? clientSecretsFromConfig(config);
  const services: GraphQLServices = { config, db, reads, bus, commands, simulatorMode, log, metrics, apiKeys, clientSecrets, operator: deps.operator, merchants: deps.merchants, ...(deps.webhooks ? { webhooks: deps.webhooks } : {}) };
  // A client secret is checked against its payment's own row (whose merchant, final or not).
  const keys = new ApiKeyRing(config.apiKeys, cache, { secrets: clientSecrets, find: (merOrderId) => reads.findPayment(merOrderId, SEES_ALL) }, deps.merchantDisabled);
  const keyWatch = new WebSocketKeyWatch(cache);
  const clientExpiry = new ClientSecretExpiry({ find: (merOrderId) => reads.findPayment(merOrderId, SEES_ALL), ...deps.clientSecretExpiry });
  const limits: QueryLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const sandbox = config.graphqlSandbox;
  const recorder = new OperationRecorder(metrics);
  let apollo: ApolloServer<GraphQLContext> | undefined;
  let wss: WebSocketServer | undefined;
  let socketsClosing: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  const closeSockets = (): Promise<void> => (socketsClosing ??= wss ? closeWebSockets(wss) : Promise.resolve());
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await closeSockets();
      keyWatch.stop();
      await apollo?.stop();
      await cache.close();
    })();
    return closing;
  };

  const plugin: FastifyPluginAsync = async (app) => {
    const schema = await (deps.schema ?? buildGatewaySchema({ simulatorMode }));
    // Before the routes exist: the first request already sees every run-time key.
    await cache.start();
    const rules = [...specifiedRules, queryLimitsRule(limits), ...(sandbox ? [] : [NoSchemaIntrospectionCustomRule])];
    const shapeError = (query: string) => documentShapeError(query, limits);
    const admission = new OperationAdmission({ schema, rules, parseOptions: parseOptions(limits), shapeError, schemaDetails: sandbox });
    const fast = new FastQueries({ schema, rules, parseOptions: parseOptions(limits), shapeError, hideSuggestions: !sandbox });

    // No route hook of its own: operations are charged per root field (caller-limits.ts).
    await app.register(fastifyRateLimit, { global: false });
    const quota = operationQuota(app, config.rateLimitPerMinute);
    const sockets = new SocketCounter(config.wsMaxConnectionsPerClient);

    await app.register(fastifyWebsocket, {
      options: { maxPayload: GRAPHQL_BODY_LIMIT, handleProtocols },
      // WebSockets first (preClose): open upgrades would keep the HTTP server from closing.
      preClose: async () => closeSockets(),
      // A peer's fault (a reset, an oversized or malformed frame), not ours: a warning, and the
      // socket is dropped.
      errorHandler: (error, socket) => {
        log.warn({ err: errorSummary(error) }, 'WebSocket connection failed');
        socket.terminate();
      },
    });
    wss = app.websocketServer;
    await registerCors(app, config.corsOrigins, GRAPHQL_PATH);

    const guards = routeGuards({
      keys,
      quota,
      sockets,
      shapeError,
      // A text the fast road has checked passed the shape check then.
      knownShape: (query) => fast.known(query),
      maxSockets: config.wsMaxConnectionsPerClient,
      closing: () => socketsClosing !== undefined,
      originAllowed: webSocketOriginCheck(config.corsOrigins),
    });

    const plugins: ApolloServerPlugin<GraphQLContext>[] = [
      operationMetricsPlugin(recorder),
      operationQuotaPlugin<GraphQLContext>((context) => context.charge),
      // No cache hints are used: computing a cache policy for every field is pure overhead.
      ApolloServerPluginCacheControlDisabled(),
      sandbox
        ? ApolloServerPluginLandingPageLocalDefault({ embed: { endpointIsEditable: false, runTelemetry: false }, footer: false, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
      // WebSocket subscriptions end before Apollo reports itself stopped.
      { serverWillStart: async () => ({ drainServer: async () => closeSockets() }) },
    ];

    apollo = new ApolloServer<GraphQLContext>({
      schema,
      introspection: sandbox,
      csrfPrevention: true,
      // Documents by hash are the typed client's trusted documents, resolved at the door
      // (trusted-documents.ts); Apollo's own registry would accept any client's hash.
      persistedQueries: false,
      includeStacktraceInErrorResponses: false,
      // Suggestions are left out by graphql-js itself (validationOptions), in linear time; Apollo's
      // own switch would cut them out of each message with a regex that is quadratic on a crafted
      // document.
      hideSchemaDetailsFromClientErrors: false,
      validationOptions: { hideSuggestions: !sandbox },
      parseOptions: parseOptions(limits),
      formatError: (formatted, error) => maskError(sandbox ? formatted : { ...formatted, message: withoutSuggestion(formatted.message) }, error, log),
      validationRules: [queryLimitsRule(limits)],
      plugins,
      logger: log,
      // app.ts/main.ts own the process signals; app.close() stops Apollo through the onClose hook.
      stopOnTerminationSignals: false,
    });
    await apollo.start();

    const contextOf = async (request: FastifyRequest): Promise<GraphQLContext> => {
      const caller = guards.callerOf(request);
      const key = request.headers['idempotency-key'];
      const client = clientOf(caller, request.ip);
      return createContext(services, caller, Array.isArray(key) ? key[0] : key, (cost) => quota.charge(request, client, cost));
    };
    const handler = fastifyApolloHandler(apollo, { context: contextOf });
    // Known single-field queries skip Apollo's pipeline (fast-queries.ts); the rest is Apollo's.
    const trusted = trustedDocumentsHook(TrustedDocuments.ofTypedClient(), config.graphqlDocuments, guards.callerOf);
    const postHandler: typeof handler =
      deps.fastQueries === false
        ? handler
        : async function (request, reply) {
            // POST only: this route also takes OPTIONS, which Apollo refuses (405) and which the
            // request limits do not charge, so a body sent with it must never run here.
            if (request.method !== 'POST') return handler.call(this, request, reply);
            return (await answerFast(fast, request, reply, contextOf, recorder)) ?? handler.call(this, request, reply);
          };
    const wsHandler = graphqlWebSocketHandler({
      services,
      keys,
      keyWatch,
      clientExpiry,
      admission,
      quota,
      schemaDetails: sandbox,
      recorder,
      initTimeoutMs: deps.wsInitTimeoutMs ?? 3000,
      keepAliveMs: deps.wsKeepAliveMs ?? 12_000,
      maxSubscriptionsPerConnection: deps.wsMaxSubscriptionsPerConnection ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    });
    // @fastify/websocket takes a WebSocket handler on GET routes only.
    // request.log is made on first use (most requests never log): lazy-child-logger.ts.
    app.route({ method: 'GET', url: GRAPHQL_PATH, childLoggerFactory: lazyChildLoggerFactory, onRequest: guards.onRequest, preHandler: [trusted, guards.preHandler], handler, wsHandler });
    app.route({ method: ['POST', 'OPTIONS'], url: GRAPHQL_PATH, childLoggerFactory: lazyChildLoggerFactory, onRequest: guards.onRequest, preHandler: [trusted, guards.preHandler], handler: postHandler, bodyLimit: GRAPHQL_BODY_LIMIT });
    // Apollo last (onClose): HTTP requests still in flight finish before it stops.
    app.addHook('onClose', async () => close());
  };

  return { plugin, close };
}
