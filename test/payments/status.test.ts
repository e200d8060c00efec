import { describe, expect, it } from 'vitest';
import { decideTransition, normaliseStatus, PAYMENT_STATUSES, type PaymentStatus } from '../../src/payments/status.js';

describe('normaliseStatus', () => {
  it('reads every status, any case, and the old aliases', () => {
    for (const s of PAYMENT_STATUSES) expect(normaliseStatus(s)).toBe(s);
    expect(normaliseStatus('trade_success')).toBe('TRADE_SUCCESS');
    expect(normaliseStatus('SUCCESS')).toBe('TRADE_SUCCESS');
    expect(normaliseStatus('success')).toBe('TRADE_SUCCESS');
    expect(normaliseStatus('REFUND')).toBe('TRADE_REFUND');
    expect(normaliseStatus('PAID')).toBeUndefined();
    expect(normaliseStatus('')).toBeUndefined();
  });
});

describe('decideTransition (PROTOCOL.md §6.2)', () => {
  const kind = (from: PaymentStatus, to: PaymentStatus, ctx = {}) => decideTransition(from, to, ctx).kind;

  it('moves forward by rank', () => {
    expect(decideTransition('NEW_ORDER', 'WAIT_BUYER_PAY')).toEqual({ kind: 'apply', next: 'WAIT_BUYER_PAY', reason: 'forward' });
    expect(kind('NEW_ORDER', 'TRADE_SUCCESS')).toBe('apply');
    expect(kind('WAIT_BUYER_PAY', 'TRADE_CLOSED')).toBe('apply');
    expect(kind('TRADE_SUCCESS', 'TRADE_REFUND', { newRefund: true })).toBe('apply');
    expect(kind('TRADE_SUCCESS', 'TRADE_CLOSED')).toBe('apply');
    expect(kind('TRADE_REFUND', 'TRADE_CLOSED')).toBe('apply');
  });

  it('lets WAIT_BUYER_PAY and UNKNOWN replace each other', () => {
    expect(kind('WAIT_BUYER_PAY', 'UNKNOWN')).toBe('apply');
    expect(kind('UNKNOWN', 'WAIT_BUYER_PAY')).toBe('apply');
  });

  it('treats a lower rank as stale and the same status as a duplicate', () => {
    expect(kind('TRADE_SUCCESS', 'WAIT_BUYER_PAY')).toBe('stale');
    expect(kind('TRADE_REFUND', 'TRADE_SUCCESS')).toBe('stale');
    expect(kind('TRADE_SUCCESS', 'TRADE_SUCCESS')).toBe('duplicate');
    expect(kind('NEW_ORDER', 'NEW_ORDER')).toBe('duplicate');
  });

  it('applies TRADE_REFUND again only for a refund not yet counted', () => {
    expect(decideTransition('TRADE_REFUND', 'TRADE_REFUND', { newRefund: true })).toEqual({
      kind: 'apply',
      next: 'TRADE_REFUND',
      reason: 'another-refund',
    });
    expect(kind('TRADE_REFUND', 'TRADE_REFUND', { newRefund: false })).toBe('duplicate');
  });

  it('moves to TRADE_REFUND when the success notice was lost', () => {
    expect(decideTransition('WAIT_BUYER_PAY', 'TRADE_REFUND')).toMatchObject({ kind: 'apply', reason: 'refund-without-success' });
  });

  it('keeps TRADE_CLOSED terminal and flags money reported after an unpaid close', () => {
    expect(kind('TRADE_CLOSED', 'TRADE_CLOSED')).toBe('duplicate');
    expect(kind('TRADE_CLOSED', 'WAIT_BUYER_PAY')).toBe('stale');
    expect(decideTransition('TRADE_CLOSED', 'TRADE_SUCCESS', { wasPaid: false })).toEqual({ kind: 'review', reason: 'paid-after-close' });
    expect(kind('TRADE_CLOSED', 'TRADE_REFUND', { wasPaid: false })).toBe('review');
    // Closed after a full refund: a late success is stale, a late refund notice is counted.
    expect(kind('TRADE_CLOSED', 'TRADE_SUCCESS', { wasPaid: true })).toBe('stale');
    expect(decideTransition('TRADE_CLOSED', 'TRADE_REFUND', { wasPaid: true, newRefund: true })).toEqual({
      kind: 'apply',
      next: 'TRADE_CLOSED',
      reason: 'refund-after-close',
    });
  });
});
