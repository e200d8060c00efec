/** Small helpers for the run-time API key suites: the admin operations over real HTTP, and waiting. */
import { bearer, gql, type GraphQLResponse } from './harness.js';

export const ADMIN = 'k_admin';
export const API_KEY_FIELDS = 'id name merchantId scopes createdAt expiresAt revokedAt lastUsedAt';

export interface ApiKeyView {
  id: string;
  name: string | null;
  merchantId: string | null;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export function createKey(url: string, input: Record<string, unknown>, as = ADMIN): Promise<GraphQLResponse<{ createApiKey: { apiKey: ApiKeyView; key: string } }>> {
  return gql(url, `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { ${API_KEY_FIELDS} } } }`, { input }, bearer(as));
}

/** Creates a key and returns its id and text, failing the test on any error. */
export async function newKey(url: string, input: Record<string, unknown>): Promise<{ id: string; key: string; view: ApiKeyView }> {
  const res = await createKey(url, input);
  if (!res.data?.createApiKey) throw new Error(`createApiKey failed: ${JSON.stringify(res.errors)}`);
  return { id: res.data.createApiKey.apiKey.id, key: res.data.createApiKey.key, view: res.data.createApiKey.apiKey };
}

export function revokeKey(url: string, id: string): Promise<GraphQLResponse<{ revokeApiKey: ApiKeyView }>> {
  return gql(url, `mutation($id: ID!) { revokeApiKey(id: $id) { ${API_KEY_FIELDS} } }`, { id }, bearer(ADMIN));
}

export function listKeys(url: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<{ apiKeys: ApiKeyView[] }>> {
  return gql(url, `query($merchantId: ID) { apiKeys(merchantId: $merchantId) { ${API_KEY_FIELDS} } }`, variables, bearer(ADMIN));
}

/** A read with `key`: the error code, or 'OK'. */
export async function readWith(url: string, key: string): Promise<string> {
  const res = await gql(url, 'query { payments(first: 1) { edges { cursor } } }', {}, bearer(key));
  return res.errors?.[0]?.extensions?.code ?? 'OK';
}

/** Polls `probe` every 50 ms until it returns `want`; returns how long that took. */
export async function until<T>(probe: () => Promise<T>, want: T, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: T | undefined;
  while (Date.now() - started < timeoutMs) {
    last = await probe();
    if (last === want) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`still ${String(last)} after ${timeoutMs} ms (wanted ${String(want)})`);
}

/** `promise`, or a failure naming `what` after `timeoutMs` (rather than the suite's timeout). */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
