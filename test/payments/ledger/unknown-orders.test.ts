/**
 * Orders the ledger never created, or first saw without their identity (amount, mid, tid).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyReport } from '../../../src/payments/ledger.js';
import { describeEachDatabase, type TestDatabase } from '../../support/db.js';
import { MID, newOrderId, TID } from '../notification-fixtures.js';

describe('identity filled on first sight', () => {
  /** An order first seen in a report that lacked its identity fields: filled later, never a false mismatch. */
  describeEachDatabase('ledger: orders first seen without amount, mid or tid', (kind) => {
    let h: TestDatabase;
    beforeAll(async () => {
      h = await kind.open();
    });
    afterAll(async () => {
      await h.close();
    });

    it('fills totalAmount, mid and tid on first sight and applies the report instead of flagging a mismatch', async () => {
      const merOrderId = newOrderId();
      const created = await applyReport(h.db, { merOrderId, status: 'WAIT_BUYER_PAY' }, 'NOTIFY');
      expect(created.outcome).toBe('created');
      expect(created.payment).toMatchObject({ totalAmount: 0, mid: '', tid: '' });

      const paid = await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 500, mid: MID, tid: TID }, 'NOTIFY');
      expect(paid).toMatchObject({ outcome: 'applied', reason: 'forward' });
      expect(paid.payment).toMatchObject({ status: 'TRADE_SUCCESS', totalAmount: 500, mid: MID, tid: TID });
      // Still flagged from its first sight: an order we never created must be looked at.
      expect(paid.payment).toMatchObject({ needsReview: true, reviewReason: 'unknown-order' });

      // Once known, the fields are checked like any other.
      const wrong = await applyReport(h.db, { merOrderId, status: 'TRADE_REFUND', totalAmount: 501 }, 'NOTIFY');
      expect(wrong).toMatchObject({ outcome: 'review', reason: 'mismatch:totalAmount' });
    });

    it('a duplicate or stale report also fills what we never knew', async () => {
      const merOrderId = newOrderId();
      await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 700 }, 'NOTIFY');
      const dup = await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', totalAmount: 700, mid: MID, tid: TID }, 'SYNC');
      expect(dup.outcome).toBe('duplicate');
      expect(dup.payment).toMatchObject({ totalAmount: 700, mid: MID, tid: TID });
      const other = await applyReport(h.db, { merOrderId, status: 'TRADE_SUCCESS', mid: 'another-mid' }, 'SYNC');
      expect(other).toMatchObject({ outcome: 'review', reason: 'mismatch:mid' });
    });
  });
});
