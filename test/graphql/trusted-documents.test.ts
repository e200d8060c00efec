/**
 * Trusted documents (src/graphql/trusted-documents.ts): the typed client's documents by hash,
 * an unknown hash refused with a clear error, and GRAPHQL_DOCUMENTS=trusted refusing documents of
 * a key's own (gateway-wide admin keys excepted), over real HTTP.
 */
import { parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from '../../src/graphql/client/index.js';
import { GetPaymentStatusDocument, documentOf, request, bearer as clientBearer } from '../../src/graphql/client/index.js';
import { documentHash, PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_REQUIRED, TrustedDocuments } from '../../src/graphql/trusted-documents.js';
import { DEFAULT_MERCHANT_ID } from '../../src/merchants/ids.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newKey, until } from './api-keys-client.js';
import { newOrder } from './fixtures.js';
import { bearer, gql, startGateway, type TestGateway } from './harness.js';

const OWN = 'query Mine($id: ID!) { payment(merOrderId: $id) { merOrderId status } }';
const STATUS_HASH = documentHash(print(GetPaymentStatusDocument));

async function post(url: string, body: Record<string, unknown>, key: string) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(key) }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { data?: { payment: { merOrderId: string } | null } | null; errors?: { message: string; extensions?: { code?: string } }[] } };
}

describe('trusted documents', () => {
  let h: TestDatabase;
  let any: TestGateway;
  let trusted: TestGateway;
  let id = '';
  /** A merchant-bound admin key (not gateway-wide), made on the `trusted` gateway. */
  let merchantAdmin = '';

  beforeAll(async () => {
    h = await pgliteDatabase();
    const apiKeys = 'k_admin:admin,k_read:read';
    any = await startGateway({ handle: h, apiKeys });
    trusted = await startGateway({ handle: h, apiKeys, env: { GRAPHQL_DOCUMENTS: 'trusted' } });
    id = await newOrder(h.db);
    merchantAdmin = (await newKey(trusted.url, { name: 'm', scopes: ['ADMIN'], merchantId: DEFAULT_MERCHANT_ID })).key;
    // Run-time keys reach the cache through LISTEN: wait until the key reads (a trusted document).
    const probe = { extensions: { persistedQuery: { version: 1, sha256Hash: STATUS_HASH } }, variables: { merOrderId: id } };
    await until(async () => (await post(trusted.url, probe, merchantAdmin)).body.errors?.[0]?.extensions?.code ?? 'OK', 'OK', 10_000);
  });
  afterAll(async () => {
    await any?.close();
    await trusted?.close();
    await h?.close();
  });

  it('the client and the server hash every generated document alike', async () => {
    const documents = Object.values(client).filter((v): v is typeof GetPaymentStatusDocument => typeof v === 'object' && v !== null && (v as { kind?: string }).kind === 'Document');
    expect(documents.length).toBeGreaterThan(5);
    expect(TrustedDocuments.ofTypedClient().size).toBe(documents.length);
    for (const document of documents) expect(await documentOf(document).hash).toBe(documentHash(print(document)));
  });

  it('runs a trusted document sent by hash alone, and the typed client sends it so', async () => {
    const byHash = await post(any.url, { extensions: { persistedQuery: { version: 1, sha256Hash: STATUS_HASH } }, variables: { merOrderId: id } }, 'k_read');
    expect(byHash.status).toBe(200);
    expect(byHash.body.data?.payment?.merOrderId).toBe(id);
    const typed = await request(trusted.url, GetPaymentStatusDocument, { merOrderId: id }, clientBearer('k_read'));
    expect(typed.errors).toBeUndefined();
    expect(typed.data?.payment?.merOrderId).toBe(id);
  });

  it('refuses an unknown hash with PERSISTED_QUERY_NOT_FOUND, and serves the text when one is sent along', async () => {
    const unknown = { version: 1, sha256Hash: 'ab'.repeat(32) };
    const refused = await post(any.url, { extensions: { persistedQuery: unknown }, variables: { id } }, 'k_read');
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe(PERSISTED_QUERY_NOT_FOUND);
    expect(refused.body.errors?.[0]?.message).toMatch(/Unknown document hash/);
    const withText = await post(any.url, { query: OWN, extensions: { persistedQuery: unknown }, variables: { id } }, 'k_read');
    expect(withText.body.data?.payment?.merOrderId).toBe(id);
    const malformed = await post(any.url, { extensions: { persistedQuery: { sha256Hash: 42 } } }, 'k_read');
    expect(malformed.status).toBe(400);
  });

  it('the typed client falls back to the text when the gateway does not know the hash', async () => {
    const custom = parse(OWN) as unknown as typeof GetPaymentStatusDocument;
    const res = await request(any.url, custom, { id } as never, clientBearer('k_read'));
    expect(res.errors).toBeUndefined();
    expect((res.data as unknown as { payment: { merOrderId: string } }).payment.merOrderId).toBe(id);
  });

  it('GRAPHQL_DOCUMENTS=any: a key may send a document of its own', async () => {
    const res = await gql<{ payment: { merOrderId: string } }>(any.url, OWN, { id }, bearer('k_read'));
    expect(res.data?.payment.merOrderId).toBe(id);
  });

  it('GRAPHQL_DOCUMENTS=trusted: a key’s own document is refused before it runs, a trusted one runs by hash or by its text', async () => {
    const own = await gql(trusted.url, OWN, { id }, bearer('k_read'));
    expect(own.status).toBe(400);
    expect(own.errors?.[0]?.extensions?.code).toBe(PERSISTED_QUERY_REQUIRED);
    expect(own.data).toBeUndefined();
    const ownOfMerchantAdmin = await gql(trusted.url, OWN, { id }, bearer(merchantAdmin));
    expect(ownOfMerchantAdmin.errors?.[0]?.extensions?.code).toBe(PERSISTED_QUERY_REQUIRED);
    const text = await gql<{ payment: { merOrderId: string } }>(trusted.url, print(GetPaymentStatusDocument), { merOrderId: id }, bearer('k_read'));
    expect(text.data?.payment.merOrderId).toBe(id);
    const hash = await post(trusted.url, { extensions: { persistedQuery: { version: 1, sha256Hash: STATUS_HASH } }, variables: { merOrderId: id } }, 'k_read');
    expect(hash.body.data?.payment?.merOrderId).toBe(id);
  });

  it('GRAPHQL_DOCUMENTS=trusted: a key’s own document sent by GET is refused too; a trusted one and an admin’s still run', async () => {
    const get = async (query: string, variables: Record<string, string>, key: string) => {
      const url = new URL(trusted.url);
      url.searchParams.set('query', query);
      url.searchParams.set('variables', JSON.stringify(variables));
      const res = await fetch(url, { headers: { 'apollo-require-preflight': 'true', ...bearer(key) } });
      return { status: res.status, body: (await res.json()) as { data?: { payment?: { merOrderId: string } }; errors?: { extensions?: { code?: string } }[] } };
    };
    for (const key of ['k_read', merchantAdmin]) {
      const own = await get(OWN, { id }, key);
      expect(own.status).toBe(400);
      expect(own.body.errors?.[0]?.extensions?.code).toBe(PERSISTED_QUERY_REQUIRED);
      expect(own.body.data).toBeUndefined();
    }
    expect((await get(print(GetPaymentStatusDocument), { merOrderId: id }, 'k_read')).body.data?.payment?.merOrderId).toBe(id);
    expect((await get(OWN, { id }, 'k_admin')).body.data?.payment?.merOrderId).toBe(id);
  });

  it('GRAPHQL_DOCUMENTS=trusted: a gateway-wide admin key may still send any document', async () => {
    const res = await gql<{ payment: { merOrderId: string } }>(trusted.url, OWN, { id }, bearer('k_admin'));
    expect(res.errors).toBeUndefined();
    expect(res.data?.payment.merOrderId).toBe(id);
  });
});
