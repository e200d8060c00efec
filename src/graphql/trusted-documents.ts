/**
 * Trusted documents (persisted operations): the typed client's documents, known to the server by
 * the SHA-256 of their printed text. The client (src/graphql/client) sends
 * `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"…"}},"variables":…}` and no text;
 * the door (`trustedDocumentsHook`) puts the text back before anything else reads the body, so
 * the limits, Apollo and the fast road (fast-queries.ts) see an ordinary request.
 *
 * The set is what `npm run codegen` generated (src/graphql/client/generated/graphql.ts), printed
 * with graphql-js's `print` on both sides, so client and server agree on every hash without a
 * manifest to keep in step.
 *
 * Policy (`GRAPHQL_DOCUMENTS`, config.ts):
 * - `any` (the default, every mode): a document's text is accepted as before, and a hash must name
 *   a trusted document (`PERSISTED_QUERY_NOT_FOUND` otherwise; a request that also carries the
 *   text is served by its text, as Apollo's automatic persisted queries would register it).
 * - `trusted`: only trusted documents, by hash or by their exact text, except for the callers who
 *   administer the whole gateway: a gateway-wide admin key, and the open simulator mode (no keys
 *   configured, where Sandbox is the point). Anyone else's own text is refused with
 *   `PERSISTED_QUERY_REQUIRED` (HTTP 400), before it is parsed.
 *
 * HTTP POST only. Apollo's own automatic persisted queries are off (plugin.ts), so a hash sent any
 * other way (a GET's `extensions`) is refused by Apollo rather than registered; graphql-ws
 * subscriptions are sent as text (the policy does not cover them yet).
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { print, type DocumentNode } from 'graphql';
import * as generated from './client/generated/graphql.js';
import type { Caller } from './auth.js';

/**
 * A trusted document's key: the lowercase hex SHA-256 of its printed text, as Apollo's
 * persisted-query protocol names it (the typed client computes the same with Web Crypto).
 */
export function documentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export type DocumentPolicy = 'any' | 'trusted';

export const PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';
export const PERSISTED_QUERY_REQUIRED = 'PERSISTED_QUERY_REQUIRED';

function isDocument(value: unknown): value is DocumentNode {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Document';
}

/** The trusted documents: hash → text, and the texts themselves. */
export class TrustedDocuments {
  readonly #byHash: ReadonlyMap<string, string>;
  readonly #texts: ReadonlySet<string>;

  constructor(documents: Iterable<DocumentNode>) {
    const byHash = new Map<string, string>();
    for (const document of documents) {
      const text = print(document);
      byHash.set(documentHash(text), text);
    }
    this.#byHash = byHash;
    this.#texts = new Set(byHash.values());
  }

  /** The typed client's documents (every `…Document` that codegen generated). */
  static ofTypedClient(): TrustedDocuments {
    return new TrustedDocuments(Object.values(generated).filter(isDocument));
  }

  text(hash: string): string | undefined {
    return this.#byHash.get(hash);
  }

  has(text: string): boolean {
    return this.#texts.has(text);
  }

  get size(): number {
    return this.#byHash.size;
  }
}

/** Who may send a document of their own under `trusted`: whoever administers the whole gateway. */
export function mayUseAnyDocument(caller: Caller): boolean {
  if (caller.kind === 'open') return true;
  return caller.kind === 'key' && caller.merchantId === undefined && caller.scopes.has('admin');
}

function refuse(reply: FastifyReply, code: string, message: string): FastifyReply {
  return reply.code(400).type('application/json; charset=utf-8').send({ errors: [{ message, extensions: { code } }] });
}

type Body = Record<string, unknown> & { extensions?: Record<string, unknown> };

function persistedHash(body: Body): string | undefined | null {
  const persisted = body.extensions?.persistedQuery;
  if (persisted === undefined) return undefined;
  if (typeof persisted !== 'object' || persisted === null) return null;
  const { version, sha256Hash } = persisted as { version?: unknown; sha256Hash?: unknown };
  return version === 1 && typeof sha256Hash === 'string' ? sha256Hash : null;
}

const OWN_DOCUMENT_REFUSED = 'This gateway runs only trusted documents (the typed client sends them by hash); this key may not send a document of its own';

/**
 * The preHandler of POST (after the body is parsed, before the limits read it): resolves a hash to
 * its text, and applies the policy. On GET it applies the policy to the `query` parameter(s).
 */
export function trustedDocumentsHook(trusted: TrustedDocuments, policy: DocumentPolicy, callerOf: (request: FastifyRequest) => Caller) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (request.method === 'GET') {
      if (policy !== 'trusted') return undefined;
      // Every `query` parameter given (Apollo reads one; which one is its business).
      const given = (request.query as Record<string, unknown> | null)?.query;
      const texts = (Array.isArray(given) ? given : [given]).filter((text): text is string => typeof text === 'string');
      if (texts.every((text) => trusted.has(text)) || mayUseAnyDocument(callerOf(request))) return undefined;
      return refuse(reply, PERSISTED_QUERY_REQUIRED, OWN_DOCUMENT_REFUSED);
    }
    if (request.method !== 'POST') return undefined;
    const body = request.body as Body | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const hash = persistedHash(body);
    if (hash === null) return refuse(reply, 'BAD_REQUEST', 'extensions.persistedQuery must be {"version":1,"sha256Hash":"<hex>"}');
    if (hash !== undefined) {
      const text = trusted.text(hash);
      if (text === undefined && typeof body.query !== 'string') {
        return refuse(
          reply,
          PERSISTED_QUERY_NOT_FOUND,
          policy === 'trusted'
            ? 'Unknown document hash: this gateway runs only the documents of its typed client (by their SHA-256)'
            : 'Unknown document hash: this gateway knows only the documents of its typed client by hash; send the document as `query`',
        );
      }
      if (text !== undefined) body.query = text;
      // From here on an ordinary request: Apollo's own persisted queries are off.
      const { persistedQuery: _used, ...otherExtensions } = body.extensions ?? {};
      if (Object.keys(otherExtensions).length === 0) delete body.extensions;
      else body.extensions = otherExtensions;
    }
    if (policy === 'trusted' && typeof body.query === 'string' && !trusted.has(body.query) && !mayUseAnyDocument(callerOf(request))) {
      return refuse(reply, PERSISTED_QUERY_REQUIRED, OWN_DOCUMENT_REFUSED);
    }
    return undefined;
  };
}
