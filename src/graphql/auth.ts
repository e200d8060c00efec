/**
 * Who is calling, and may they? (CONTRACT.md "Authorization")
 *
 * A request carries `Authorization: Bearer <key>` (HTTP) or `connectionParams.authorization`
 * (graphql-ws). The key is looked up among `config.apiKeys` in constant time: every configured key
 * is compared, through SHA-256 digests of equal length, so neither the position of the first
 * differing byte nor which key matched shows in the timing. With no keys configured (simulator
 * mode) everyone holds every scope.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { AuthChecker } from 'type-graphql';
import type { ApiKey, Scope } from '../config.js';

export type Caller =
  /** No keys configured: the gateway is open (simulator mode). */
  | { readonly kind: 'open' }
  | { readonly kind: 'key'; readonly scopes: ReadonlySet<Scope> }
  /** Keys are configured and this caller presented none, or an unknown one. */
  | { readonly kind: 'anonymous'; readonly reason: 'missing' | 'invalid' };

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Parses `Bearer <key>` (case-insensitive scheme); anything else is treated as no key. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

// The configured keys' digests, computed once per key list rather than on every request.
const keyDigests = new WeakMap<readonly ApiKey[], Buffer[]>();

function digestsOf(apiKeys: readonly ApiKey[]): Buffer[] {
  let digests = keyDigests.get(apiKeys);
  if (!digests) {
    digests = apiKeys.map(({ key }) => digest(key.reveal()));
    keyDigests.set(apiKeys, digests);
  }
  return digests;
}

export function identify(authorization: unknown, apiKeys: readonly ApiKey[]): Caller {
  if (apiKeys.length === 0) return { kind: 'open' };
  const token = bearerToken(authorization);
  if (token === undefined) return { kind: 'anonymous', reason: 'missing' };
  const presented = digest(token);
  const known = digestsOf(apiKeys);
  let found: ReadonlySet<Scope> | undefined;
  for (const [i, { scopes }] of apiKeys.entries()) {
    // No early exit: the loop takes the same time whichever key (if any) matches.
    if (timingSafeEqual(presented, known[i]!) && found === undefined) found = scopes;
  }
  return found ? { kind: 'key', scopes: found } : { kind: 'anonymous', reason: 'invalid' };
}

/**
 * What decides what a caller may see, as a key: callers with equal keys get equal results, so
 * subscribers with equal keys share each change's execution (shared-execution.ts). Today that is
 * the kind of caller and its scopes, all that `holds` and the auth checker read. Anything added to
 * Caller that changes what resolvers return (say, a set of merchant ids) must be added here.
 */
export function rightsKey(caller: Caller): string {
  return caller.kind === 'key' ? `key:${[...caller.scopes].sort().join(',')}` : caller.kind;
}

/** True when the caller holds `scope`; `admin` holds every scope. */
export function holds(caller: Caller, scope: Scope): boolean {
  if (caller.kind === 'open') return true;
  if (caller.kind === 'anonymous') return false;
  return caller.scopes.has('admin') || caller.scopes.has(scope);
}

export function unauthenticated(): GraphQLError {
  return new GraphQLError('A valid API key is required: send Authorization: Bearer <key>', {
    extensions: { code: 'UNAUTHENTICATED' },
  });
}

export function forbidden(scopes: readonly Scope[]): GraphQLError {
  return new GraphQLError(`This API key lacks the scope this needs (${scopes.join(' or ')})`, {
    extensions: { code: 'FORBIDDEN' },
  });
}

/** Throws UNAUTHENTICATED or FORBIDDEN unless the caller holds one of `scopes`. */
export function assertScope(caller: Caller, scopes: readonly Scope[]): void {
  if (caller.kind === 'anonymous') throw unauthenticated();
  if (!scopes.some((scope) => holds(caller, scope))) throw forbidden(scopes);
}

/**
 * type-graphql's checker for `@Authorized('read')` etc.: the roles are scopes, any one suffices.
 * It throws rather than returning false so the error carries our codes and wording.
 */
export const scopeAuthChecker: AuthChecker<{ caller: Caller }> = ({ context }, roles) => {
  assertScope(context.caller, roles as Scope[]);
  return true;
};
