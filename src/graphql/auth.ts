/**
 * Who is calling, and may they? (CONTRACT.md "Authorization")
 *
 * A request carries `Authorization: Bearer <key>` (HTTP) or `connectionParams.authorization`
 * (graphql-ws). The key is looked up among `config.apiKeys` in constant time: every configured key
 * is compared, through SHA-256 digests of equal length, so neither the position of the first
 * differing byte nor which key matched shows in the timing. A bearer that is none of them is
 * looked up among the keys created at run time (src/access/key-cache.ts), by its SHA-256, in memory.
 * With no GATEWAY_API_KEYS configured (simulator mode) everyone holds every scope.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { AuthChecker } from 'type-graphql';
import type { ApiKey, Scope } from '../config.js';
import type { ApiKeyCache } from '../access/key-cache.js';

export type Caller =
  /** No keys configured: the gateway is open (simulator mode). */
  | { readonly kind: 'open' }
  /**
   * `id` names the key without showing it (`key#<position>` for GATEWAY_API_KEYS, the `key_…` id of
   * a run-time key): what limits are counted by.
   */
  | {
      readonly kind: 'key';
      readonly id: string;
      readonly scopes: ReadonlySet<Scope>;
      /** Who acted, for the payment's events (CONTRACT.md "Event feed"): never the key itself. */
      readonly actor: string;
      /** The merchant this key is bound to; undefined: gateway-wide. */
      readonly merchantId: string | undefined;
    }
  /** Keys are configured and this caller presented none, or an unknown one. */
  | { readonly kind: 'anonymous'; readonly reason: 'missing' | 'invalid' };

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Parses `Bearer <key>` (case-insensitive scheme); anything else is treated as no key. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * The configured keys, ready to check: their digests are computed once, here, rather than on
 * every request. One per GraphQL room (createGraphQL).
 */
export class ApiKeyRing {
  readonly #keys: readonly { digest: Buffer; id: string; scopes: ReadonlySet<Scope>; actor: string }[];

  readonly #runtime: ApiKeyCache | undefined;

  constructor(apiKeys: readonly ApiKey[], runtime?: ApiKeyCache) {
    this.#runtime = runtime;
    this.#keys = apiKeys.map(({ key, scopes }, i) => {
      const keyDigest = digest(key.reveal());
      return { digest: keyDigest, id: `key#${i + 1}`, scopes, actor: `env:${keyDigest.toString('hex').slice(0, 8)}` };
    });
  }

  identify(authorization: unknown): Caller {
    if (this.#keys.length === 0) return { kind: 'open' };
    const token = bearerToken(authorization);
    if (token === undefined) return { kind: 'anonymous', reason: 'missing' };
    const presented = digest(token);
    let found: { id: string; scopes: ReadonlySet<Scope>; actor: string } | undefined;
    for (const key of this.#keys) {
      // No early exit: the loop takes the same time whichever key (if any) matches.
      if (timingSafeEqual(presented, key.digest) && found === undefined) found = key;
    }
    if (found) return { kind: 'key', id: found.id, scopes: found.scopes, actor: found.actor, merchantId: undefined };
    const runtime = this.#runtime?.lookup(presented.toString('hex'), presented);
    if (runtime) return { kind: 'key', id: runtime.id, scopes: runtime.scopes, actor: runtime.id, merchantId: undefined };
    return { kind: 'anonymous', reason: 'invalid' };
  }
}

/**
 * What decides what a caller may see, as a key: callers with equal keys get equal results, so
 * subscribers with equal keys share each change's execution (shared-execution.ts). Today that is
 * the kind of caller and its scopes, all that `holds` and the auth checker read. Anything added to
 * Caller that changes what resolvers return (say, a set of merchant ids) must be added here; a
 * key's `id` need not be, since resolvers never read it.
 */
export function rightsKey(caller: Caller): string {
  return caller.kind === 'key' ? `key:${[...caller.scopes].sort().join(',')}` : caller.kind;
}

/**
 * The `actor` recorded in a payment's events for what this caller does: a key's actor, `open` for
 * the open simulator mode (no keys configured).
 */
export function actorOf(caller: Caller): string {
  return caller.kind === 'key' ? caller.actor : caller.kind;
}

/** The one merchant whose payments this caller may see; undefined: every merchant. */
export function merchantScope(caller: Caller): string | undefined {
  return caller.kind === 'key' ? caller.merchantId : undefined;
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
