/**
 * Client secrets as values (src/access/client-secret.ts): deterministic per (merchant, payment),
 * bound to both, unforgeable without the gateway's key material, and expiring 24 h after the
 * payment is final. The bearer behaviour is covered over HTTP and WebSocket in two-merchants.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CLIENT_SECRET_AFTER_FINAL_MS, ClientSecrets, clientSecretExpired } from '../../src/access/client-secret.js';
import { clientOf } from '../../src/graphql/caller-limits.js';

const secrets = new ClientSecrets('gateway key material');

describe('ClientSecrets', () => {
  it('issues the same secret for the same payment, in the documented form', () => {
    const secret = secrets.issue('default', '31940001');
    expect(secret).toBe(secrets.issue('default', '31940001'));
    expect(secret).toMatch(/^31940001_secret_[0-9A-Za-z_-]{43}$/);
  });

  it('checks a secret against its merchant and payment only', () => {
    const parsed = secrets.parse(secrets.issue('m1', '31940001'));
    expect(parsed?.merOrderId).toBe('31940001');
    if (!parsed) throw new Error('not parsed');
    expect(secrets.matches(parsed.mac, 'm1', '31940001')).toBe(true);
    expect(secrets.matches(parsed.mac, 'm2', '31940001')).toBe(false);
    expect(secrets.matches(parsed.mac, 'm1', '31940002')).toBe(false);
    // Another gateway (other key material) never accepts it.
    expect(new ClientSecrets('other material').matches(parsed.mac, 'm1', '31940001')).toBe(false);
  });

  it('parses only texts of its form', () => {
    for (const text of ['', 'sk_live_abc', '3194_secret_short', `a b_secret_${'A'.repeat(43)}`, `${'1'.repeat(65)}_secret_${'A'.repeat(43)}`]) {
      expect(secrets.parse(text), text).toBeUndefined();
    }
  });

  it('expires 24 h after the last change of a final payment, never while it is open', () => {
    const updatedAt = new Date('2026-12-01T00:00:00Z');
    const later = (ms: number) => updatedAt.getTime() + ms;
    expect(clientSecretExpired({ status: 'TRADE_SUCCESS', updatedAt }, later(CLIENT_SECRET_AFTER_FINAL_MS - 1))).toBe(false);
    expect(clientSecretExpired({ status: 'TRADE_SUCCESS', updatedAt }, later(CLIENT_SECRET_AFTER_FINAL_MS))).toBe(true);
    expect(clientSecretExpired({ status: 'TRADE_CLOSED', updatedAt }, later(CLIENT_SECRET_AFTER_FINAL_MS * 3))).toBe(true);
    expect(clientSecretExpired({ status: 'WAIT_BUYER_PAY', updatedAt }, later(CLIENT_SECRET_AFTER_FINAL_MS * 3))).toBe(false);
  });

  it('is counted by limits like a key: per secret, not per address', () => {
    const caller = { kind: 'client', id: 'client:31940001', merOrderId: '31940001', merchantId: 'm1' } as const;
    expect(clientOf(caller, '10.0.0.1')).toBe('client:31940001');
    expect(clientOf(caller, '10.0.0.2')).toBe('client:31940001');
  });
});
