/**
 * The limits at the door of `/graphql`, before and around Apollo:
 *
 * - Operations per minute on HTTP: every request is charged one operation at the door, before
 *   its body is read or parsed (so the work of parsing and validating is paid for up front,
 *   even by documents that never validate), and the rest of its root fields once Apollo has
 *   resolved the operation. Refusals are HTTP 429 with `Retry-After` and a GraphQL error with
 *   extensions.code RATE_LIMITED.
 * - Open WebSockets per client: the upgrade over the cap is refused with HTTP 429; an upgrade from
 *   a browser origin CORS_ORIGINS does not list, with HTTP 403 (cors.ts).
 * - The document's shape (tokens, nesting: limits.ts) before Apollo parses it: graphql-js's
 *   parser is recursive, and a deeply nested document overflows it.
 */
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import type { ApiKeyRing, Caller } from './auth.js';
import { clientOf, RATE_LIMITED, rateLimitedMessage, rootFieldCount, type OperationQuota, type SocketCounter, type Verdict } from './caller-limits.js';

type Refusal = Extract<Verdict, { allowed: false }>;

/** Charges the operation's client `cost` operations; one per request context. */
export type Charge = (cost: number) => Promise<Verdict>;

/** The answer to a client over its limit, before Apollo sees the request. */
function refuseOverLimit(reply: FastifyReply, verdict: Refusal): FastifyReply {
  return reply
    .code(429)
    .header('retry-after', String(verdict.retryAfterSeconds))
    .type('application/json; charset=utf-8')
    .send({ errors: [{ message: rateLimitedMessage(verdict), extensions: { code: RATE_LIMITED } }] });
}

export function operationQuotaPlugin<C extends object>(chargeOf: (context: C) => Charge | undefined): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(rc) {
          const charge = chargeOf(rc.contextValue);
          if (!charge || !rc.operation) return;
          // One was charged at the door (routeGuards.onRequest).
          const rest = rootFieldCount(rc.document, rc.operation) - 1;
          if (rest <= 0) return;
          const verdict = await charge(rest);
          if (verdict.allowed) return;
          throw new GraphQLError(rateLimitedMessage(verdict), {
            extensions: { code: RATE_LIMITED, http: { status: 429, headers: new HeaderMap([['retry-after', String(verdict.retryAfterSeconds)]]) } },
          });
        },
      };
    },
  };
}

export interface RouteGuardOptions {
  keys: ApiKeyRing;
  quota: OperationQuota;
  sockets: SocketCounter;
  /** limits.ts documentShapeError, with the room's limits. */
  shapeError: (query: string) => GraphQLError | undefined;
  /** True for a text already checked (and so not lexed again); default: none is. */
  knownShape?: (query: string) => boolean;
  /** For the refusal's message. */
  maxSockets: number;
  /** True once the room is closing its WebSockets: new upgrades are refused. */
  closing: () => boolean;
  /** Whether the upgrade's Origin may open a WebSocket (cors.ts). */
  originAllowed: (request: FastifyRequest) => boolean;
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

export interface RouteGuards {
  onRequest: Hook;
  preHandler: Hook;
  /** Who sent `request` (found once, by onRequest). */
  callerOf(request: FastifyRequest): Caller;
}

export function routeGuards(options: RouteGuardOptions): RouteGuards {
  // Who is calling, found once per request (the upgrade request, for a WebSocket).
  const callers = new WeakMap<FastifyRequest, Caller>();
  const callerOf = (request: FastifyRequest): Caller => callers.get(request) ?? options.keys.identify(request.headers.authorization);

  return {
    callerOf,
    async onRequest(request, reply) {
      // A client secret costs one primary-key read of its payment; a key, none.
      let caller: Caller;
      try {
        caller = await options.keys.resolve(request.headers.authorization);
      } catch {
        // The database did not answer: the secret can be neither accepted nor refused.
        return reply.code(503).send({ errors: [{ message: 'Could not check the client secret; retry', extensions: { code: 'UNAVAILABLE' } }] });
      }
      callers.set(request, caller);
      const client = clientOf(caller, request.ip);
      if (request.ws) {
        if (options.closing()) return reply.code(503).send({ errors: [{ message: 'Shutting down', extensions: { code: 'UNAVAILABLE' } }] });
        if (!options.originAllowed(request)) {
          return reply.code(403).send({ errors: [{ message: 'WebSockets from this origin are not allowed (CORS_ORIGINS)', extensions: { code: 'FORBIDDEN' } }] });
        }
        // The key of a browser client arrives later, in connection_init: its upgrade counts by address.
        if (!options.sockets.reserve(client, request.raw.socket)) {
          return reply.code(429).send({
            errors: [{ message: `At most ${options.maxSockets} WebSockets may be open per client; close one first`, extensions: { code: RATE_LIMITED } }],
          });
        }
        return undefined;
      }
      if (request.method === 'OPTIONS') return undefined;
      const verdict = await options.quota.charge(request, client, 1);
      return verdict.allowed ? undefined : refuseOverLimit(reply, verdict);
    },
    // After the body is read, before Apollo parses it (the request was charged at the door).
    async preHandler(request, reply) {
      const query = documentText(request);
      const error = query === undefined || options.knownShape?.(query) ? undefined : options.shapeError(query);
      if (!error) return undefined;
      return reply.code(400).send({ errors: [{ message: error.message, extensions: error.extensions }] });
    },
  };
}

/** The GraphQL document of a request: `query` of the JSON body (POST) or of the URL (GET). */
function documentText(request: FastifyRequest): string | undefined {
  const source: unknown = request.method === 'GET' ? request.query : request.body;
  if (typeof source !== 'object' || source === null || !('query' in source)) return undefined;
  return typeof source.query === 'string' ? source.query : undefined;
}
