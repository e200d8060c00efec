/**
 * The rules that decide what a caller may see and share, as values: subscribers with different
 * merchants (or client secrets of different payments) never share an execution; a client secret
 * holds no scope and passes only where a resolver lets it in; Idempotency-Keys are per merchant.
 */
import { describe, expect, it } from 'vitest';
import { sees, SEES_ALL } from '../../src/access/visibility.js';
import { assertGatewayAdmin, assertScope, CLIENT_ROLE, holds, rightsKey, visibilityOf, type Caller } from '../../src/graphql/auth.js';
import { scopedKey } from '../../src/payments/idempotency.js';

const key = (merchantId: string | undefined, ...scopes: ('read' | 'pay' | 'refund' | 'admin')[]): Caller => ({
  kind: 'key',
  id: 'key_x',
  scopes: new Set(scopes),
  actor: 'key_x',
  merchantId,
});
const client = (merOrderId: string, merchantId = 'm1'): Caller => ({ kind: 'client', id: `client:${merOrderId}`, merOrderId, merchantId });
const codeOf = (fn: () => void): string => {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return String((err as { extensions?: { code?: string } }).extensions?.code);
  }
};

describe('rights', () => {
  it('keys subscribers apart by merchant and by a client secret’s payment', () => {
    const keys = [key(undefined, 'read'), key('m1', 'read'), key('m2', 'read'), client('31940001'), client('31940002'), { kind: 'open' } as const];
    expect(new Set(keys.map(rightsKey)).size).toBe(keys.length);
    // Equal rights, equal key: they may share.
    const other: Caller = { kind: 'key', id: 'key_other', actor: 'key_other', scopes: new Set(['read', 'pay']), merchantId: 'm1' };
    expect(rightsKey(key('m1', 'pay', 'read'))).toBe(rightsKey(other));
  });

  it('sees by merchant, and a client secret its one payment', () => {
    const p = (merchantId: string, merOrderId: string) => ({ merchantId, merOrderId });
    expect(sees(visibilityOf(key(undefined, 'read')), p('m2', 'a'))).toBe(true);
    expect(sees(visibilityOf(key('m1', 'read')), p('m1', 'a'))).toBe(true);
    expect(sees(visibilityOf(key('m1', 'read')), p('m2', 'a'))).toBe(false);
    expect(sees(visibilityOf(client('a')), p('m1', 'a'))).toBe(true);
    expect(sees(visibilityOf(client('a')), p('m1', 'b'))).toBe(false);
    expect(sees(visibilityOf({ kind: 'anonymous', reason: 'missing' }), p('default', 'a'))).toBe(false);
    expect(sees(SEES_ALL, p('x', 'y'))).toBe(true);
  });

  it('lets a client secret through only where a resolver names the client role', () => {
    expect(holds(client('a'), 'read')).toBe(false);
    expect(codeOf(() => assertScope(client('a'), ['read']))).toBe('FORBIDDEN');
    expect(codeOf(() => assertScope(client('a'), ['read', CLIENT_ROLE]))).toBe('OK');
    expect(codeOf(() => assertScope(key('m1', 'read'), ['read', CLIENT_ROLE]))).toBe('OK');
    expect(codeOf(() => assertScope(key('m1', 'pay'), ['read', CLIENT_ROLE]))).toBe('FORBIDDEN');
  });

  it('keeps gateway-wide admin work from merchant admins', () => {
    expect(codeOf(() => assertGatewayAdmin(key(undefined, 'admin')))).toBe('OK');
    expect(codeOf(() => assertGatewayAdmin(key('m1', 'admin')))).toBe('FORBIDDEN');
    expect(codeOf(() => assertGatewayAdmin(client('a')))).toBe('FORBIDDEN');
    expect(codeOf(() => assertGatewayAdmin({ kind: 'open' }))).toBe('OK');
  });

  it('scopes Idempotency-Keys per merchant, leaving the default merchant’s as they were', () => {
    expect(scopedKey('order-1', undefined)).toBe('order-1');
    expect(scopedKey('order-1', 'default')).toBe('order-1');
    expect(scopedKey('order-1', 'm1')).toBe('m1 order-1');
    expect(scopedKey('order-1', 'm1')).not.toBe(scopedKey('order-1', 'm2'));
  });
});
