/**
 * A typed client for the example operations: the generated TypedDocumentNodes, plus the calls a
 * merchant's server and its frontend need, so that variables and results are checked by
 * TypeScript end to end.
 *
 * The frontend never holds a key. The merchant's server creates the payment with its secret key
 * and hands the frontend what `checkout` returns; the frontend reads and watches that one payment
 * with the client secret:
 *
 *   // server (secret key)
 *   const forFrontend = await checkout(url, process.env.GATEWAY_KEY!, { channel: 'QR_CODE', totalAmount: 1250 }, `order-1001`);
 *   // frontend (forFrontend.clientSecret only)
 *   const ws = createClient({ url: wsUrl, connectionParams: clientSecretParams(forFrontend.clientSecret) });
 *   for await (const change of watch(ws, WatchPaymentDocument, { merOrderId: forFrontend.merOrderId })) change.data?.paymentStatusChanged.status;
 *   await request(url, GetPaymentStatusDocument, { merOrderId }, bearer(forFrontend.clientSecret));
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type FormattedExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { CreatePaymentDocument, type CreatePaymentInput } from './generated/graphql.js';

export * from './generated/graphql.js';

/** `Authorization: Bearer <token>` (an API key on the server, a client secret in the frontend). */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** graphql-ws `connectionParams` for a frontend holding a client secret. */
export function clientSecretParams(clientSecret: string): { authorization: string } {
  return { authorization: `Bearer ${clientSecret}` };
}

/** What a merchant's server hands its frontend: never its key. */
export interface Checkout {
  merOrderId: string;
  clientSecret: string;
  qrCode: string | null;
  payParams: unknown;
  payUrl: string | null;
}

/**
 * Server side: creates a payment with the merchant's secret key (Idempotency-Key recommended: a
 * retry then answers the same payment and the same client secret) and returns what the frontend
 * may hold. Throws the gateway's first error.
 */
export async function checkout(url: string, secretKey: string, input: CreatePaymentInput, idempotencyKey?: string): Promise<Checkout> {
  const headers = { ...bearer(secretKey), ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }) };
  const { data, errors } = await request(url, CreatePaymentDocument, { input }, headers);
  const created = data?.createPayment;
  if (!created) throw new Error(`createPayment failed: ${errors?.[0]?.extensions?.code ?? 'no answer'}: ${errors?.[0]?.message ?? ''}`);
  return {
    merOrderId: created.payment.merOrderId,
    clientSecret: created.clientSecret,
    qrCode: created.qrCode,
    payParams: created.payParams,
    payUrl: created.payUrl,
  };
}

/** Each document's printed text and its SHA-256 (hex), computed once. */
const printed = new WeakMap<object, { text: string; hash: Promise<string> | undefined }>();

/** Undefined without Web Crypto: browsers leave `crypto.subtle` out of insecure contexts (plain HTTP, not localhost). */
function sha256Hex(text: string): Promise<string> | undefined {
  // Web Crypto: the same in Node and in the browser bundle (web/).
  const subtle = (globalThis.crypto as Partial<typeof globalThis.crypto> | undefined)?.subtle;
  if (!subtle) return undefined;
  return subtle
    .digest('SHA-256', new TextEncoder().encode(text))
    .then((digest) => Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join(''));
}

/**
 * The text of a typed document and its trusted-document hash (what the gateway knows it by:
 * src/graphql/trusted-documents.ts); no hash where Web Crypto is missing.
 */
export function documentOf(document: TypedDocumentNode<unknown, never>): { text: string; hash: Promise<string> | undefined } {
  let entry = printed.get(document);
  if (!entry) {
    const text = print(document);
    printed.set(document, (entry = { text, hash: sha256Hex(text) }));
  }
  return entry;
}

/**
 * POSTs one query or mutation; `headers` carries Authorization and Idempotency-Key. The document
 * goes by its hash (a trusted document: a smaller request, and the only kind a gateway with
 * GRAPHQL_DOCUMENTS=trusted runs for merchant keys); a gateway that does not know the hash
 * (another version) answers PERSISTED_QUERY_NOT_FOUND, and the text is sent once more in full.
 * Without Web Crypto (a browser page on plain HTTP) there is no hash: the text goes at once.
 */
export async function request<TResult, TVariables>(
  url: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  headers: Record<string, string> = {},
): Promise<FormattedExecutionResult<TResult>> {
  const { text, hash } = documentOf(document as TypedDocumentNode<unknown, never>);
  const post = async (body: Record<string, unknown>) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
      body: JSON.stringify({ ...body, variables }),
    });
    return (await response.json()) as FormattedExecutionResult<TResult>;
  };
  if (hash === undefined) return post({ query: text });
  const byHash = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: await hash } } });
  if (byHash.errors?.[0]?.extensions?.code !== 'PERSISTED_QUERY_NOT_FOUND') return byHash;
  return post({ query: text });
}

/** Subscribes over an open graphql-ws client; iterate the results, `return()` to unsubscribe. */
export function watch<TResult, TVariables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): AsyncIterableIterator<FormattedExecutionResult<TResult, unknown>> {
  return client.iterate<TResult>({ query: print(document), variables });
}
