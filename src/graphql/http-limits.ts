/**
 * The operations-per-minute limit on HTTP: a client already over its allowance is refused before
 * its body is read; otherwise each operation is charged its root fields once Apollo has parsed
 * and validated it (a document that does not get that far is charged one). Refusals are HTTP 429
 * with `Retry-After` and a GraphQL error with extensions.code RATE_LIMITED.
 */
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply } from 'fastify';
import { GraphQLError } from 'graphql';
import { RATE_LIMITED, rateLimitedMessage, rootFieldCount, type Verdict } from './caller-limits.js';

type Refusal = Extract<Verdict, { allowed: false }>;

/** Charges the operation's client `cost` operations; one per request context. */
export type Charge = (cost: number) => Promise<Verdict>;

/** The answer to a client over its limit, before Apollo sees the request. */
export function refuseOverLimit(reply: FastifyReply, verdict: Refusal): FastifyReply {
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
          const verdict = await charge(rootFieldCount(rc.document, rc.operation));
          if (verdict.allowed) return;
          throw new GraphQLError(rateLimitedMessage(verdict), {
            extensions: { code: RATE_LIMITED, http: { status: 429, headers: new HeaderMap([['retry-after', String(verdict.retryAfterSeconds)]]) } },
          });
        },
        async didEncounterErrors(rc) {
          // Did not parse or validate: it still cost the work of finding out.
          if (!rc.operation) await chargeOf(rc.contextValue)?.(1);
        },
      };
    },
  };
}
