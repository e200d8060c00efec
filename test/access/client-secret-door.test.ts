/**
 * A client secret at the door of /graphql: checked against its payment's row before anything
 * else; a database that does not answer then gets the request a plain 503 (no driver message),
 * never a pass nor a misleading UNAUTHENTICATED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientSecrets } from '../../src/access/client-secret.js';
import type { Visibility } from '../../src/access/visibility.js';
import { PaymentReads } from '../../src/graphql/data.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newOrder } from '../graphql/fixtures.js';
import { bearer, gql, startGateway, type TestGateway } from '../graphql/harness.js';

describe('client secret at the door', () => {
  let h: TestDatabase;
  let gw: TestGateway;
  let merOrderId = '';
  let failing = false;
  const secrets = new ClientSecrets('door test material');

  beforeAll(async () => {
    h = await pgliteDatabase();
    merOrderId = await newOrder(h.db);
    const reads = new (class extends PaymentReads {
      override findPayment(id: string, view: Visibility): ReturnType<PaymentReads['findPayment']> {
        return failing ? Promise.reject(new Error('connection terminated unexpectedly')) : super.findPayment(id, view);
      }
    })(h.db);
    gw = await startGateway({ handle: h, apiKeys: 'k_read:read', extra: { reads, clientSecrets: secrets } });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('answers 503 when the payment cannot be read, and works again once it can', async () => {
    const query = 'query($id: ID!) { payment(merOrderId: $id) { merOrderId } }';
    const secret = secrets.issue('default', merOrderId);
    failing = true;
    const down = await gql(gw.url, query, { id: merOrderId }, bearer(secret));
    expect(down.status).toBe(503);
    expect(down.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    expect(JSON.stringify(down.errors)).not.toContain('connection');
    // Keys need no read: they keep working meanwhile.
    expect((await gql(gw.url, query, { id: merOrderId }, bearer('k_read'))).status).toBe(200);
    failing = false;
    const up = await gql<{ payment: { merOrderId: string } | null }>(gw.url, query, { id: merOrderId }, bearer(secret));
    expect(up.data?.payment?.merOrderId).toBe(merOrderId);
    // A secret of another merchant's making for this payment is no secret.
    expect((await gql(gw.url, query, { id: merOrderId }, bearer(secrets.issue('m2', merOrderId)))).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
