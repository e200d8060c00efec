/**
 * The kinds a look at UMS can end in, from the row as it was, UMS's answer and what the ledger did
 * (the end-to-end suites cover MATCHED, CORRECTED and AMOUNT_MISMATCH over the simulator; the
 * others are hard to make a real UMS say on purpose).
 */
import { describe, expect, it } from 'vitest';
import type { PaymentRow } from '../../../src/db/schema.js';
import { UmsBusinessError } from '../../../src/ums/errors.js';
import { classify, classifyError } from '../../../src/payments/reconcile/classify.js';
import type { ApplyResult } from '../../../src/payments/ledger.js';

const at = new Date('2026-12-07T02:00:00Z');
const row = (over: Partial<PaymentRow>): PaymentRow => ({
  merOrderId: '3194TEST0001', merchantId: 'default', status: 'TRADE_SUCCESS', version: 3, channel: 'QR_CODE', totalAmount: 500, mid: 'm', tid: 't',
  instMid: null, description: null, targetOrderId: null, targetSys: null, seqId: null, payTime: at, settleDate: null, buyerPayAmount: 500,
  receiptAmount: null, refundedAmount: 0, needsReview: false, reviewReason: null, expireTime: null, nextSyncAt: null, syncAttempts: 0,
  lastEventAt: at, createdAt: at, updatedAt: at, attachedData: null, srcReserve: null, metadata: null, secureTransaction: false,
  secureStatus: null, completedAmount: null, divisionFlag: false, platformAmount: null, subOrders: null, ...over,
});
const report = (status: 'TRADE_SUCCESS' | 'TRADE_REFUND' | 'WAIT_BUYER_PAY' | 'TRADE_CLOSED', totalAmount = 500) => ({ merOrderId: '3194TEST0001', status, totalAmount });
const outcome = (o: ApplyResult['outcome'], payment: PaymentRow, reason = 'x'): ApplyResult => ({ outcome: o, reason, payment });

describe('classify', () => {
  it('MISSING_AT_UMS for NO_ORDER, with the gateway side kept', () => {
    const found = classify(row({}), { kind: 'no-order', error: new UmsBusinessError('NO_ORDER', 'no order', { errCode: 'NO_ORDER' }) }, undefined);
    expect(found).toMatchObject({ kind: 'MISSING_AT_UMS', oursPaid: 500, umsPaid: 0 });
  });

  it('STATUS_MISMATCH when UMS is behind us (stale), or the ledger wants a person, or refunds differ', () => {
    const paid = row({});
    expect(classify(paid, { kind: 'report', report: report('WAIT_BUYER_PAY'), umsRefunded: undefined }, outcome('stale', paid)).kind).toBe('STATUS_MISMATCH');
    const closed = row({ status: 'TRADE_CLOSED', payTime: null });
    const review = classify(closed, { kind: 'report', report: report('TRADE_SUCCESS'), umsRefunded: undefined }, outcome('review', closed, 'paid-after-close'));
    expect(review).toMatchObject({ kind: 'STATUS_MISMATCH', oursPaid: 0, umsPaid: 500 });
    expect(review.note).toContain('paid-after-close');
    const refunded = classify(paid, { kind: 'report', report: report('TRADE_SUCCESS'), umsRefunded: 100 }, outcome('duplicate', paid));
    expect(refunded).toMatchObject({ kind: 'STATUS_MISMATCH', umsRefunded: 100, oursRefunded: 0 });
  });

  it('MATCHED for a move between open states, ERROR for an unreadable answer or a failure', () => {
    const fresh = row({ status: 'NEW_ORDER', payTime: null });
    const waiting = { ...fresh, status: 'WAIT_BUYER_PAY', version: 2 };
    expect(classify(fresh, { kind: 'report', report: report('WAIT_BUYER_PAY'), umsRefunded: undefined }, outcome('applied', waiting)).kind).toBe('MATCHED');
    expect(classify(fresh, { kind: 'unreadable' }, undefined).kind).toBe('ERROR');
    expect(classifyError(fresh, 'UMS_UNAVAILABLE: timeout')).toMatchObject({ kind: 'ERROR', note: 'UMS_UNAVAILABLE: timeout' });
  });
});
