/**
 * graphql-ws (protocol `graphql-transport-ws`) on the Fastify route `GET /graphql`, through
 * @fastify/websocket and graphql-ws's adapter for it: the same schema, the same limits and
 * masking as HTTP, and the key checked once in `connection_init`.
 *
 * - No key, or a wrong one, when keys are configured: the socket is closed with 4403 Forbidden.
 * - A run-time key revoked or expired while its socket is open: closed with 4403 too (ws-key-watch.ts);
 *   so is a client secret's socket once the secret stops working (ws-client-expiry.ts).
 * - A client that does not send `connection_init` within `initTimeoutMs` is closed (4408).
 * - ws-level ping/pong every `keepAliveMs` drops dead peers.
 * - Subscriptions only (ws-admission.ts): a query or mutation is refused with BAD_REQUEST and
 *   pointed at HTTP POST /graphql.
 * - At most `maxSubscriptionsPerConnection` operations open at once on one socket; one more is
 *   refused with RATE_LIMITED (the others keep running), so one key cannot pin thousands of
 *   streams on one connection.
 * - Every subscribe message counts against the client's operations per minute (caller-limits.ts).
 *
 * The upgrade itself (open sockets per client, 429) is checked by the route (plugin.ts), before
 * the socket is accepted.
 */
import type { FastifyRequest } from 'fastify';
import type { WebsocketHandler } from '@fastify/websocket';
import { GraphQLError, getOperationAST, type ExecutionArgs } from 'graphql';
import { makeHandler } from 'graphql-ws/use/@fastify/websocket';
import type { WebSocketServer } from 'ws';
import { rightsKey, type ApiKeyRing, type Caller } from './auth.js';
import { clientOf, RATE_LIMITED, rateLimitedMessage, type OperationQuota } from './caller-limits.js';
import { createContext, type GraphQLContext, type GraphQLServices } from './context.js';
import { maskErrors } from './errors.js';
import type { OperationRecorder } from './operation-metrics.js';
import { pushFrames } from './ws-frames.js';
import { SharedSubscription, subscribeSharingResults } from './shared-execution.js';
import type { OperationAdmission } from './ws-admission.js';
import type { WebSocketKeyWatch } from './ws-key-watch.js';
import type { ClientSecretExpiry } from './ws-client-expiry.js';

export interface WebSocketOptions {
  services: GraphQLServices;
  keys: ApiKeyRing;
  keyWatch: WebSocketKeyWatch;
  clientExpiry: ClientSecretExpiry;
  admission: OperationAdmission;
  quota: OperationQuota;
  /** False: execution errors leave out "Did you mean …?" hints too. */
  schemaDetails: boolean;
  recorder: OperationRecorder;
  initTimeoutMs: number;
  keepAliveMs: number;
  /** Concurrent subscriptions one socket may hold. */
  maxSubscriptionsPerConnection: number;
}

type Extra = {
  caller?: Caller;
};

/** The handler of the `GET /graphql` route's WebSocket side. */
export function graphqlWebSocketHandler(options: WebSocketOptions): WebsocketHandler {
  const { services } = options;
  return makeHandler<Record<string, unknown> | undefined, Extra>(
    {
      schema: options.admission.schema,
      connectionInitWaitTimeout: options.initTimeoutMs,
      async onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        // connectionParams as CONTRACT.md says; the upgrade request's own header for server-side
        // clients that can set one.
        const presented = params.authorization ?? params.Authorization ?? ctx.extra.request.headers.authorization;
        const caller = await options.keys.resolve(presented);
        // false: graphql-ws closes the socket with 4403 Forbidden.
        if (caller.kind === 'anonymous') return false;
        ctx.extra.caller = caller;
        if (caller.kind === 'key') options.keyWatch.add(caller.id, ctx.extra.socket);
        if (caller.kind === 'client') options.clientExpiry.watch(caller.merOrderId, ctx.extra.socket);
        return true;
      },
      context: (ctx) => createContext(services, ctx.extra.caller ?? { kind: 'anonymous', reason: 'missing' }),
      // Subscribers asking the same thing with the same rights share each change's execution.
      subscribe: (args: ExecutionArgs) =>
        subscribeSharingResults({ ...args, hideSuggestions: !options.schemaDetails }, rightsKey((args.contextValue as GraphQLContext).caller)),
      // Parses and validates itself (graphql-ws's own validate is not used once this is set).
      async onSubscribe(ctx, _id, payload) {
        // graphql-ws has already reserved this id, so the count includes the new operation. Counted
        // before anything is awaited: the operations ahead of this one have all reserved theirs.
        if (Object.keys(ctx.subscriptions).length > options.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${options.maxSubscriptionsPerConnection} subscriptions may be open on one connection; complete one first`, {
              extensions: { code: RATE_LIMITED },
            }),
          ];
        }
        const request: FastifyRequest = ctx.extra.request;
        const verdict = await options.quota.charge(request, clientOf(ctx.extra.caller ?? { kind: 'open' }, request.ip), 1);
        if (!verdict.allowed) return [new GraphQLError(rateLimitedMessage(verdict), { extensions: { code: RATE_LIMITED } })];
        return options.admission.admit(payload);
      },
      onOperation(ctx, id, payload, args, result) {
        // Counted when the operation starts: a subscription's "latency" would be its lifetime.
        const operation = getOperationAST(args.document, args.operationName);
        options.recorder.record(payload.operationName ?? operation?.name?.value, operation?.operation ?? 'unknown', 'success', 0);
        // Live changes go straight to the socket, encoded once per group (ws-frames.ts); graphql-ws
        // still owns the operation: its completion, its errors, its end.
        if (result instanceof SharedSubscription) pushFrames(result, ctx.extra.socket, id, () => id in ctx.subscriptions, services.log);
        return undefined;
      },
      onNext(_ctx, _id, _payload, _args, result) {
        if (!result.errors) return undefined;
        return { ...result, errors: maskErrors(result.errors, services.log) };
      },
      onError(_ctx, _id, _payload, errors) {
        return maskErrors(errors, services.log);
      },
      // Close reasons never carry an internal message.
      isProd: true,
    },
    options.keepAliveMs,
  );
}

/**
 * Ends every socket with 1001 Going Away (graphql-ws then completes their operations); a peer
 * that never answers the close handshake is cut off after a second.
 */
export async function closeWebSockets(wss: WebSocketServer): Promise<void> {
  const clients = [...wss.clients];
  const closed = Promise.all(clients.map((c) => new Promise<void>((resolve) => (c.readyState === c.CLOSED ? resolve() : c.once('close', () => resolve())))));
  for (const client of clients) client.close(1001, 'Going away');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
  clearTimeout(timer);
  for (const client of clients) client.terminate();
}
