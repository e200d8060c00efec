/**
 * What a client may learn from an error: a short message and an `extensions.code`, never a stack,
 * a secret or an internal message.
 *
 * Three kinds pass through unchanged but stripped: errors the GraphQL layer raised on purpose
 * (GraphQLError: validation, auth, bad input), and the domain's `PaymentError`, whose code maps
 * one to one onto `extensions.code`. Everything else (a database driver error, a bug) becomes
 * "Internal server error" with code INTERNAL_SERVER_ERROR, and the original is logged.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { errorSummary } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { isPaymentError } from '../payments/errors.js';

/** Follows GraphQL's wrapping down to what was thrown. */
function original(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

const INTERNAL: GraphQLFormattedError['extensions'] = { code: 'INTERNAL_SERVER_ERROR' };

/**
 * Apollo's `formatError` (also used for graphql-ws results): `formatted` is what Apollo would send,
 * `error` the thrown value.
 */
export function maskError(formatted: GraphQLFormattedError, error: unknown, log?: Logger): GraphQLFormattedError {
  const cause = original(error);
  const where = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  if (isPaymentError(cause)) {
    return { message: cause.message, ...where, extensions: { code: cause.code } };
  }
  if (cause instanceof GraphQLError || (cause === undefined && error instanceof GraphQLError)) {
    const code = formatted.extensions?.code ?? (cause instanceof GraphQLError ? cause.extensions.code : undefined) ?? 'INTERNAL_SERVER_ERROR';
    return { message: formatted.message, ...where, extensions: { code } };
  }
  log?.error({ err: errorSummary(cause), path: formatted.path }, 'GraphQL resolver failed');
  return { message: 'Internal server error', ...where, extensions: INTERNAL };
}

/** The same masking for errors that never went through Apollo (graphql-ws). */
export function maskErrors(errors: readonly GraphQLError[], log?: Logger): GraphQLFormattedError[] {
  return errors.map((error) => maskError(error.toJSON(), error, log));
}

/**
 * `message` without graphql-js's closing "Did you mean …?" hint, in one linear pass. For errors
 * graphql-js writes where no option turns hints off: Apollo coerces variables itself, and
 * 'Variable "$s" got invalid value …; Did you mean the enum value "PAID"?' would name schema
 * members with introspection off. The hint always comes last, after anything the client sent, so
 * the last " Did you mean " of a message ending in "?" is where it begins.
 */
export function withoutSuggestion(message: string): string {
  if (!message.endsWith('?')) return message;
  const at = message.lastIndexOf(' Did you mean ');
  return at < 0 ? message : message.slice(0, at);
}
