/**
 * A subscription whose first read (the payment's current state) fails: the subscriber gets a
 * generic INTERNAL_SERVER_ERROR, and the cause is in the log for the operator.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Visibility } from '../../src/access/visibility.js';
import { PaymentReads } from '../../src/graphql/data.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newOrder } from './fixtures.js';
import { collect, startGateway, wsClient, type TestGateway } from './harness.js';

describe('subscription whose current state cannot be read', () => {
  let h: TestDatabase;
  let gw: TestGateway;
  let failing = false;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    h = await pgliteDatabase();
    // The resolvers' reads, failing while `failing` is set (the bus keeps its own database).
    class FailingReads extends PaymentReads {
      override findPayment(merOrderId: string, view: Visibility): ReturnType<PaymentReads['findPayment']> {
        return failing ? Promise.reject(new Error('connection terminated unexpectedly')) : super.findPayment(merOrderId, view);
      }
    }
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    gw = await startGateway({ handle: h, extra: { log, reads: new FailingReads(h.db) } });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('tells the subscriber INTERNAL_SERVER_ERROR and logs the cause with the order id', async () => {
    const id = await newOrder(h.db);
    failing = true;
    const { client } = wsClient(gw.wsUrl);
    const sub = collect(client, 'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { status } }', { id });
    await sub.settled();
    failing = false;
    const errors = sub.error as { message: string; extensions?: { code?: string } }[];
    expect(errors[0]).toMatchObject({ message: 'Could not read the current state of the payment', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(errors)).not.toContain('connection terminated');
    const logged = lines.find((l) => l.merOrderId === id);
    expect(logged).toMatchObject({ level: 50, msg: 'could not read the current state of a payment for a subscription' });
    expect((logged?.err as { message?: string } | undefined)?.message).toBe('connection terminated unexpectedly');
    await client.dispose();
  });
});
