/**
 * Who is calling, and may they? (CONTRACT.md "Authorization")
 *
 * A request carries `Authorization: Bearer <key>` (HTTP) or `connectionParams.authorization`
 * (graphql-ws). The key is looked up among `config.apiKeys` in constant time: every configured key
 * is compared, through SHA-256 digests of equal length, so neither the position of the first
 * differing byte nor which key matched shows in the timing. A bearer that is none of them is
 * looked up among the keys created at run time (src/access/key-cache.ts), by its SHA-256, in memory.
 * A bearer in a client secret's form (src/access/client-secret.ts) is checked against its payment
 * (`resolve`). With no GATEWAY_API_KEYS configured (simulator mode) everyone holds every scope,
 * except a valid client secret, which is always held to its one payment.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { AuthChecker } from 'type-graphql';
import type { ApiKey, Scope } from '../config.js';
import type { ApiKeyCache } from '../access/key-cache.js';
import { clientSecretExpired, type ClientSecrets } from '../access/client-secret.js';
import { SEES_ALL, type Visibility } from '../access/visibility.js';

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
  /**
   * A payment's client secret: may read that one payment and subscribe to it, nothing else.
   * `id` (`client:<merOrderId>`) is what limits are counted by, like a key's.
   */
  | { readonly kind: 'client'; readonly id: string; readonly merOrderId: string; readonly merchantId: string }
  /** Keys are configured and this caller presented none, or an unknown one. */
  | { readonly kind: 'anonymous'; readonly reason: 'missing' | 'invalid' };

// One-shot hashing: no Hash object per request (the same SHA-256 as createHash).
const digest = (text: string): Buffer => hash('sha256', text, 'buffer');

/** Parses `Bearer <key>` (case-insensitive scheme); anything else is treated as no key. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** What checking a client secret needs: the secrets, and the payment's own row (one primary-key read). */
export interface ClientSecretCheck {
  secrets: ClientSecrets;
  find(merOrderId: string): Promise<{ readonly merchantId: string; readonly merOrderId: string; readonly status: string; readonly updatedAt: Date } | undefined>;
  now?: () => number;
}

/**
 * The configured keys, ready to check: their digests are computed once, here, rather than on
 * every request. One per GraphQL room (createGraphQL).
 */
export class ApiKeyRing {
  readonly #keys: readonly { digest: Buffer; id: string; scopes: ReadonlySet<Scope>; actor: string }[];

  readonly #runtime: ApiKeyCache | undefined;

  readonly #clients: ClientSecretCheck | undefined;

  readonly #merchantDisabled: (merchantId: string) => boolean;

  /** `merchantDisabled`: true for a merchant set `enabled: false`, whose keys stop working (in memory, no query). */
  constructor(apiKeys: readonly ApiKey[], runtime?: ApiKeyCache, clients?: ClientSecretCheck, merchantDisabled: (merchantId: string) => boolean = () => false) {
    this.#runtime = runtime;
    this.#clients = clients;
    this.#merchantDisabled = merchantDisabled;
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
    if (runtime && !(runtime.merchantId && this.#merchantDisabled(runtime.merchantId))) {
      return { kind: 'key', id: runtime.id, scopes: runtime.scopes, actor: runtime.id, merchantId: runtime.merchantId ?? undefined };
    }
    return { kind: 'anonymous', reason: 'invalid' };
  }

  /**
   * `identify`, and client secrets too: a bearer in a secret's form is checked against its
   * payment (one primary-key read, no stored secret): the payment's merchant must give the same
   * MAC, and a final payment quiet for 24 h ends it. A text in that form that fails is an invalid
   * bearer when keys are configured (UNAUTHENTICATED), and nothing at all in open mode.
   */
  async resolve(authorization: unknown): Promise<Caller> {
    const token = this.#clients ? bearerToken(authorization) : undefined;
    const parsed = token === undefined ? undefined : this.#clients?.secrets.parse(token);
    if (!parsed || !this.#clients) return this.identify(authorization);
    const { secrets, find, now = Date.now } = this.#clients;
    const payment = await find(parsed.merOrderId);
    if (payment && secrets.matches(parsed.mac, payment.merchantId, payment.merOrderId) && !clientSecretExpired(payment, now())) {
      return { kind: 'client', id: `client:${payment.merOrderId}`, merOrderId: payment.merOrderId, merchantId: payment.merchantId };
    }
    return this.identify(authorization);
  }
}

/**
 * What decides what a caller may see, as a key: callers with equal keys get equal results, so
 * subscribers with equal keys share each change's execution (shared-execution.ts). That is the
 * kind of caller, its scopes, and what it may see (its merchant; a client secret's payment): all
 * that `holds`, the auth checker and the visibility rule read. Anything added to Caller that
 * changes what resolvers return must be added here; a key's `id` need not be, since resolvers
 * never read it.
 */
export function rightsKey(caller: Caller): string {
  if (caller.kind === 'key') return `key:${caller.merchantId ?? '*'}:${[...caller.scopes].sort().join(',')}`;
  if (caller.kind === 'client') return `client:${caller.merchantId}:${caller.merOrderId}`;
  return caller.kind;
}

/**
 * The `actor` recorded in a payment's events for what this caller does: a key's actor, `client`
 * for a client secret, `open` for the open simulator mode (no keys configured).
 */
export function actorOf(caller: Caller): string {
  return caller.kind === 'key' ? caller.actor : caller.kind;
}

/** The one merchant whose payments this caller may see; undefined: every merchant. */
export function merchantScope(caller: Caller): string | undefined {
  return caller.kind === 'key' || caller.kind === 'client' ? caller.merchantId : undefined;
}

/** Which payments the caller may see (src/access/visibility.ts); nothing at all for anonymous callers. */
export function visibilityOf(caller: Caller): Visibility {
  switch (caller.kind) {
    case 'key':
      return caller.merchantId === undefined ? SEES_ALL : { merchantId: caller.merchantId };
    case 'client':
      return { merchantId: caller.merchantId, merOrderId: caller.merOrderId };
    case 'open':
      return SEES_ALL;
    case 'anonymous':
      // Never reached by a resolver (the scope check comes first); a view that matches nothing.
      return { merOrderId: '' };
  }
}

/**
 * The role a resolver names beside its scopes (`@Authorized('read', CLIENT_ROLE)`) to let a
 * client secret in; the resolver then narrows it to its payment. Everything else refuses it.
 */
export const CLIENT_ROLE = 'client';
export type Role = Scope | typeof CLIENT_ROLE;

/** True when the caller holds `scope`; `admin` holds every scope; a client secret holds none. */
export function holds(caller: Caller, scope: Scope): boolean {
  if (caller.kind === 'open') return true;
  if (caller.kind === 'anonymous' || caller.kind === 'client') return false;
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

export function forbiddenToClients(): GraphQLError {
  return new GraphQLError('A client secret may only read and watch its own payment', { extensions: { code: 'FORBIDDEN' } });
}

/** Throws UNAUTHENTICATED or FORBIDDEN unless the caller holds one of `roles`. */
export function assertScope(caller: Caller, roles: readonly Role[]): void {
  if (caller.kind === 'anonymous') throw unauthenticated();
  if (caller.kind === 'client') {
    if (!roles.includes(CLIENT_ROLE)) throw forbiddenToClients();
    return;
  }
  const scopes = roles.filter((role): role is Scope => role !== CLIENT_ROLE);
  if (!scopes.some((scope) => holds(caller, scope))) throw forbidden(scopes);
}

/**
 * `callUms`, `createMerchant`, `updateMerchant`: a gateway-wide ADMIN only (a merchant key's admin
 * is admin of its merchant).
 */
export function assertGatewayAdmin(caller: Caller): void {
  assertScope(caller, ['admin']);
  if (merchantScope(caller) !== undefined) {
    throw new GraphQLError('This needs a gateway-wide admin key, not one bound to a merchant', { extensions: { code: 'FORBIDDEN' } });
  }
}

/**
 * type-graphql's checker for `@Authorized('read')` etc.: the roles are scopes, any one suffices.
 * It throws rather than returning false so the error carries our codes and wording.
 */
export const scopeAuthChecker: AuthChecker<{ caller: Caller }> = ({ context }, roles) => {
  assertScope(context.caller, roles as Role[]);
  return true;
};
