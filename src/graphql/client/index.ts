/**
 * A typed client for the example operations: the generated TypedDocumentNodes, plus the two
 * calls a frontend needs, so that variables and results are checked by TypeScript end to end.
 *
 *   const { data } = await request(url, CreatePaymentDocument, { input: { channel: 'QR_CODE', totalAmount: 1250 } });
 *   data?.createPayment.qrCode;            // string | null
 *   for await (const change of watch(wsClient, WatchPaymentDocument, { merOrderId })) change.data?.paymentStatusChanged.status;
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type FormattedExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';

export * from './generated/graphql.js';

/** POSTs one query or mutation; `headers` carries Authorization and Idempotency-Key. */
export async function request<TResult, TVariables>(
  url: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  headers: Record<string, string> = {},
): Promise<FormattedExecutionResult<TResult>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await response.json()) as FormattedExecutionResult<TResult>;
}

/** Subscribes over an open graphql-ws client; iterate the results, `return()` to unsubscribe. */
export function watch<TResult, TVariables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): AsyncIterableIterator<FormattedExecutionResult<TResult, unknown>> {
  return client.iterate<TResult>({ query: print(document), variables });
}
