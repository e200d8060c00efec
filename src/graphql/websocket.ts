/**
 * graphql-ws (protocol `graphql-transport-ws`) on the Fastify server's `/graphql` path: the same
 * schema, the same limits and masking as HTTP, and the key checked once in `connection_init`.
 *
 * - No key, or a wrong one, when keys are configured: the socket is closed with 4403 Forbidden.
 * - A client that does not send `connection_init` within `initTimeoutMs` is closed (4408).
 * - ws-level ping/pong every `keepAliveMs` drops dead peers.
 * - Subscriptions only (ws-admission.ts): a query or mutation is refused with BAD_REQUEST and
 *   pointed at HTTP POST /graphql.
 * - At most `maxSubscriptionsPerConnection` operations open at once on one socket; one more is
 *   refused with RATE_LIMITED (the others keep running), so one key cannot pin thousands of
 *   streams on one connection.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, NoSchemaIntrospectionCustomRule, getOperationAST, specifiedRules, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { identify, rightsKey, type Caller } from './auth.js';
import { createContext, type GraphQLContext, type GraphQLServices } from './context.js';
import { maskErrors } from './errors.js';
import { queryLimitsRule, type QueryLimits } from './limits.js';
import type { OperationRecorder } from './operation-metrics.js';
import { subscribeSharingResults } from './shared-execution.js';
import { admitOperation } from './ws-admission.js';

export interface WebSocketOptions {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  services: GraphQLServices;
  limits: QueryLimits;
  introspection: boolean;
  recorder: OperationRecorder;
  initTimeoutMs: number;
  keepAliveMs: number;
  /** Concurrent subscriptions one socket may hold. */
  maxSubscriptionsPerConnection: number;
}

export interface GraphQLWebSocket {
  /** Closes every socket (1001 Going Away) and stops accepting upgrades. */
  close(): Promise<void>;
}

type Extra = {
  caller?: Caller;
};

export function attachWebSocket(options: WebSocketOptions): GraphQLWebSocket {
  const { services } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const rules = [...specifiedRules, queryLimitsRule(options.limits), ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule])];

  const disposable = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: options.initTimeoutMs,
      onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        // connectionParams as CONTRACT.md says; the upgrade request's own header for server-side
        // clients that can set one.
        const presented = params.authorization ?? params.Authorization ?? ctx.extra.request.headers.authorization;
        const caller = identify(presented, services.config.apiKeys);
        // false: graphql-ws closes the socket with 4403 Forbidden.
        if (caller.kind === 'anonymous') return false;
        ctx.extra.caller = caller;
        return true;
      },
      context: (ctx) => createContext(services, ctx.extra.caller ?? { kind: 'anonymous', reason: 'missing' }),
      // Subscribers asking the same thing with the same rights share each change's execution.
      subscribe: (args) => subscribeSharingResults(args, rightsKey((args.contextValue as GraphQLContext).caller)),
      // Parses and validates itself (graphql-ws's own validate is not used once this is set).
      onSubscribe(ctx, _id, payload) {
        // graphql-ws has already reserved this id, so the count includes the new operation.
        if (Object.keys(ctx.subscriptions).length > options.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${options.maxSubscriptionsPerConnection} subscriptions may be open on one connection; complete one first`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        return admitOperation(payload, { schema: options.schema, rules, schemaDetails: options.introspection });
      },
      onOperation(_ctx, _id, payload, args) {
        // Counted when the operation starts: a subscription's "latency" would be its lifetime.
        const operation = getOperationAST(args.document, args.operationName);
        options.recorder.record(payload.operationName ?? operation?.name?.value, operation?.operation ?? 'unknown', 'success', 0);
      },
      onNext(_ctx, _id, _payload, _args, result) {
        if (!result.errors) return undefined;
        return { ...result, errors: maskErrors(result.errors, services.log) };
      },
      onError(_ctx, _id, _payload, errors) {
        return maskErrors(errors, services.log);
      },
    },
    wss,
    options.keepAliveMs,
  );

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== options.path) {
      // Nobody else handles upgrades here: refuse rather than leave the socket hanging.
      if (options.server.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  options.server.on('upgrade', onUpgrade);

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        options.server.off('upgrade', onUpgrade);
        // dispose() sends 1001 Going Away to every client and closes the server; a peer that
        // never answers the close handshake is cut off.
        const clients = [...wss.clients];
        const closed = Promise.all(clients.map((c) => new Promise<void>((resolve) => (c.readyState === c.CLOSED ? resolve() : c.once('close', () => resolve())))));
        await disposable.dispose();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
        clearTimeout(timer);
        for (const client of clients) client.terminate();
      })();
      return closing;
    },
  };
}
