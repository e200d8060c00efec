/**
 * Helpers for the end-to-end suites on src/app.ts: a free port, GraphQL over HTTP, a graphql-ws
 * subscription that collects what it receives, and a wait for a condition.
 */
import { createServer } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A port nobody listens on right now (the notify URL must be known before the gateway listens). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

export interface GqlAnswer<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function gql<T>(baseUrl: string, query: string, variables: Record<string, unknown> = {}, key?: string): Promise<GqlAnswer<T>> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as Omit<GqlAnswer<T>, 'status'>) };
}

/** A real graphql-ws subscription; `seen` fills as results arrive. */
export function subscribe<T>(baseUrl: string, query: string, variables: Record<string, unknown>, key?: string) {
  const client: Client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    ...(key ? { connectionParams: { authorization: `Bearer ${key}` } } : {}),
  });
  const seen: T[] = [];
  const errors: unknown[] = [];
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.data) seen.push(result.data as T);
        if (result.errors) errors.push(...result.errors);
      },
      error: (err) => errors.push(err),
      complete: () => {},
    },
  );
  return {
    seen,
    errors,
    async close() {
      dispose();
      await client.dispose();
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or the generous limit passes. */
export async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, limitMs = 15_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
