/**
 * The payment commands wired to a scripted UMS peer (test/support/ums-peer.ts), for the suites
 * whose UMS answers must be exact (refusals, PROCESSING, ambiguous codes) rather than the
 * simulator's.
 */
import { pino } from 'pino';
import { DEMO } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { PaymentService, type PaymentServiceOptions } from '../../src/payments/commands.js';
import { UmsClient } from '../../src/ums/client.js';
import { UmsOperations } from '../../src/ums/operations.js';
import type { UmsPeer } from '../support/ums-peer.js';

export interface PeerService {
  client: UmsClient;
  ops: UmsOperations;
  service: PaymentService;
  /** Another PaymentService on the same client, e.g. with a different Idempotency. */
  another(options: Partial<PaymentServiceOptions>): PaymentService;
}

export interface PeerServiceOptions {
  /** PAYMENT_SYNC_AFTER_MS (default 60 s). */
  syncAfterMs?: number;
  /** The client's headers timeout (default the client's own). */
  headersTimeoutMs?: number;
}

export function paymentServiceFor(db: Database, peer: UmsPeer, options: PeerServiceOptions = {}): PeerService {
  const client = new UmsClient({
    baseUrl: peer.baseUrl,
    appId: DEMO.appId,
    appKey: DEMO.appKey,
    ...(options.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: options.headersTimeoutMs }),
  });
  const ops = new UmsOperations(client, { mid: DEMO.mid, tid: DEMO.tid, sourceId: DEMO.sourceId, notifyUrl: 'http://127.0.0.1:9/notify/ums' });
  const base: PaymentServiceOptions = { db, ums: ops, client, sourceId: DEMO.sourceId, syncAfterMs: options.syncAfterMs ?? 60_000, log: pino({ level: 'silent' }) };
  return { client, ops, service: new PaymentService(base), another: (options) => new PaymentService({ ...base, ...options }) };
}
