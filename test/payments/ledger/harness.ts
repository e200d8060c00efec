/**
 * The set-up the ledger suites share: a fresh database per suite (PGlite, and Postgres when
 * TEST_DATABASE_URL is set), a paid order, row readers, and a signed notification applied as the
 * notify endpoint would.
 */
import { afterAll, beforeAll } from 'vitest';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import type { Database } from '../../../src/db/database.js';
import { payments, refunds, type PaymentRow, type RefundRow } from '../../../src/db/schema.js';
import { applyReport, insertNewOrder, NotificationBatcher } from '../../../src/payments/ledger.js';
import { receiveNotification, type NotifyAnswer } from '../../../src/http/notify.js';
import type { DatabaseKind, TestDatabase } from '../../support/db.js';
import { FORM, MID, NOTIFY_KEY, TID, formBody, newOrderId, signed } from '../notification-fixtures.js';

const silent = pino({ level: 'silent' });

export interface LedgerHarness {
  readonly db: Database;
  /** A WECHAT_MINI order, created and paid (TRADE_SUCCESS by notification). */
  paidOrder(totalAmount?: number): Promise<string>;
  paymentOf(merOrderId: string): Promise<PaymentRow>;
  refundOf(refundOrderId: string): Promise<RefundRow>;
  /** Signs `fields` with the communication key and applies them as POST /notify/ums would. */
  notify(fields: Record<string, string>): Promise<NotifyAnswer>;
}

/** Call inside a `describeEachDatabase` suite: opens the database before it, closes it after. */
export function ledgerHarness(kind: DatabaseKind): LedgerHarness {
  let h: TestDatabase | undefined;
  let batcher: NotificationBatcher | undefined;
  beforeAll(async () => {
    h = await kind.open();
    batcher = new NotificationBatcher(h.db);
  });
  afterAll(async () => {
    await h?.close();
  });
  const db = (): Database => {
    if (!h) throw new Error('ledgerHarness: the database is opened in beforeAll');
    return h.db;
  };
  return {
    get db() {
      return db();
    },
    async paidOrder(totalAmount = 1000) {
      const merOrderId = newOrderId();
      await insertNewOrder(db(), { merOrderId, totalAmount, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
      await applyReport(db(), { merOrderId, status: 'TRADE_SUCCESS', totalAmount, mid: MID, tid: TID }, 'NOTIFY');
      return merOrderId;
    },
    paymentOf: async (merOrderId) => (await db().select().from(payments).where(eq(payments.merOrderId, merOrderId)))[0]!,
    refundOf: async (refundOrderId) => (await db().select().from(refunds).where(eq(refunds.refundOrderId, refundOrderId)))[0]!,
    notify: (fields) => receiveNotification({ db: db(), batcher: batcher as NotificationBatcher, keys: [NOTIFY_KEY], log: silent }, { body: formBody(signed(fields)), contentType: FORM }),
  };
}

/** A database of `kind` and the notify batcher built on it (one batch in flight: notifications posted together share one), opened before the suite's tests and closed after. */
export interface BatchedDatabase {
  readonly h: TestDatabase;
  readonly batcher: NotificationBatcher;
}

export function batchedDatabase(kind: DatabaseKind): BatchedDatabase {
  let opened: BatchedDatabase | undefined;
  beforeAll(async () => {
    const h = await kind.open();
    opened = { h, batcher: new NotificationBatcher(h.db, { maxBatchesInFlight: 1 }) };
  });
  afterAll(async () => {
    await opened?.h.close();
  });
  const current = (): BatchedDatabase => {
    if (!opened) throw new Error('the database opens in beforeAll');
    return opened;
  };
  return {
    get h() {
      return current().h;
    },
    get batcher() {
      return current().batcher;
    },
  };
}
