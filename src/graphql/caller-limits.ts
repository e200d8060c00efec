/**
 * Limits on callers (CONTRACT.md "Modes, limits and hostile input"): GraphQL operations per
 * minute, and open WebSockets, per client. A client is its API key (by position, never by value)
 * or, without a valid one, its address.
 *
 * Both are kept per instance, in memory: the operation counts in @fastify/rate-limit's own store
 * (an LRU of 5,000 clients, fixed one-minute windows), the open sockets in a map of counters. N
 * instances behind a load balancer therefore allow up to N times each figure; a shared store
 * would add a round trip to every request.
 */
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Caller } from './auth.js';

export const RATE_LIMITED = 'RATE_LIMITED';

/**
 * What limits are counted by: the key (`key#2`, `key_…`) or the client secret (`client:<merOrderId>`),
 * or the address for everyone else.
 */
export function clientOf(caller: Caller, address: string): string {
  return caller.kind === 'key' || caller.kind === 'client' ? caller.id : `address:${normalizeIP(address)}`;
}

export type Verdict = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number; readonly limit: number };

export interface OperationQuota {
  /** Counts `cost` operations (root fields) for `client`: refused once the minute's allowance is used. */
  charge(request: FastifyRequest, client: string, cost: number): Promise<Verdict>;
}

const ALLOWED: Verdict = { allowed: true };
const unlimited: OperationQuota = { charge: async () => ALLOWED };

/**
 * Operations per minute, counted by @fastify/rate-limit (registered, without any route hook, on
 * `app`) and driven once per root field: ten aliased mutations in one document are ten.
 * `perMinute` 0: no limit.
 */
export function operationQuota(app: FastifyInstance, perMinute: number): OperationQuota {
  if (perMinute === 0) return unlimited;
  // Whose allowance a call counts against; a request (the HTTP request, or a WebSocket's
  // upgrade request for all its messages) always belongs to one client.
  const clients = new WeakMap<FastifyRequest, string>();
  const limiter = app.createRateLimit({
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => clients.get(request) ?? `address:${normalizeIP(request.ip)}`,
  });
  const verdict = (result: Awaited<ReturnType<typeof limiter>>, exceeded: boolean): Verdict =>
    result.isAllowed || !exceeded ? ALLOWED : { allowed: false, retryAfterSeconds: Math.max(1, result.ttlInSeconds), limit: result.max };

  // The limiter reads a client's count from the store's live entry after an await: calls made in
  // the same tick would all see the count left by the last of them (six subscribe messages in one
  // packet, all refused at a limit of five). One call at a time, each sees its own; the in-memory
  // store answers at once, so the queue never waits on I/O.
  let queue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    charge: (request, client, cost) =>
      oneAtATime(async () => {
        clients.set(request, client);
        let result = await limiter(request);
        for (let i = 1; i < cost; i++) result = await limiter(request);
        return verdict(result, !result.isAllowed && result.isExceeded);
      }),
  };
}

export function rateLimitedMessage(verdict: Extract<Verdict, { allowed: false }>): string {
  return `Too many operations: at most ${verdict.limit} a minute; retry in ${verdict.retryAfterSeconds} s`;
}

/**
 * The root fields an operation runs (response keys, through fragments): what it costs. Two
 * identical selections of one field merge into one execution and count once.
 */
export function rootFieldCount(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const keys = new Set<string>();
  const seen = new Set<string>();
  const collect = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) keys.add((selection.alias ?? selection.name).value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        // Each fragment once: spreading it again adds no response key.
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return Math.max(1, keys.size);
}

/**
 * Open WebSockets per client: `reserve` on the upgrade request, released when its connection
 * closes (upgraded or not). `max` 0: no limit.
 */
export class SocketCounter {
  readonly #open = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** False when `client` already holds `max` sockets. */
  reserve(client: string, connection: { once(event: 'close', listener: () => void): unknown }): boolean {
    if (this.max === 0) return true;
    const open = this.#open.get(client) ?? 0;
    if (open >= this.max) return false;
    this.#open.set(client, open + 1);
    connection.once('close', () => {
      const left = (this.#open.get(client) ?? 1) - 1;
      if (left > 0) this.#open.set(client, left);
      else this.#open.delete(client);
    });
    return true;
  }
}
