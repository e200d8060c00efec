/**
 * Client secrets (CONTRACT.md "API keys and client secrets"): what a frontend holds instead of a
 * key. `createPayment` answers one per payment; as a bearer it reads and subscribes to that one
 * payment and nothing else, and stops working 24 h after the payment's last change once the
 * payment is final.
 *
 * Nothing is stored: the secret is `<merOrderId>_secret_<mac>`, mac = base64url(HMAC-SHA256(k,
 * merchantId + ':' + merOrderId)), with k derived (HKDF-SHA256) from a secret only the gateway
 * knows. So a replay of the same create (same Idempotency-Key) answers the same secret, every
 * instance recognises it, and checking one costs an HMAC and the payment's own row (which says
 * whose it is and whether it is final), compared in constant time.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { isOpen, type PaymentStatus } from '../payments/status.js';

/** `<merOrderId>_secret_<43 base64url characters>`; merOrderIds are letters and digits (ums/ids.ts). */
const SECRET_PATTERN = /^([0-9A-Za-z]{1,64})_secret_([0-9A-Za-z_-]{43})$/;

/** How long a secret keeps working after its payment's last change, once the payment is final. */
export const CLIENT_SECRET_AFTER_FINAL_MS = 24 * 60 * 60 * 1000;

const HKDF_SALT = 'ums-gateway';
const HKDF_INFO = 'client-secret v1';

export class ClientSecrets {
  readonly #key: Buffer;

  /** `material`: secret bytes only the gateway knows (never a value a browser sees). */
  constructor(material: string | Buffer) {
    if (material.length === 0) throw new Error('client secrets need key material');
    this.#key = Buffer.from(hkdfSync('sha256', material, HKDF_SALT, HKDF_INFO, 32));
  }

  /** The secret of one payment of one merchant (deterministic). */
  issue(merchantId: string, merOrderId: string): string {
    return `${merOrderId}_secret_${this.#mac(merchantId, merOrderId).toString('base64url')}`;
  }

  /** The payment a text names if it has a client secret's form (not yet proof of anything). */
  parse(text: string): { merOrderId: string; mac: Buffer } | undefined {
    const match = SECRET_PATTERN.exec(text);
    if (!match?.[1] || !match[2]) return undefined;
    const mac = Buffer.from(match[2], 'base64url');
    return mac.length === 32 ? { merOrderId: match[1], mac } : undefined;
  }

  /** True when `mac` is this gateway's for that merchant's payment (constant time). */
  matches(mac: Buffer, merchantId: string, merOrderId: string): boolean {
    return timingSafeEqual(mac, this.#mac(merchantId, merOrderId));
  }

  #mac(merchantId: string, merOrderId: string): Buffer {
    return createHmac('sha256', this.#key).update(`${merchantId}:${merOrderId}`, 'utf8').digest();
  }
}

/**
 * The gateway's own secret for client secrets: GATEWAY_SECRET_KEY when the gateway has one (pass
 * its bytes), else the default merchant's UMS secrets (UMS_APP_KEY and UMS_NOTIFY_KEY), which no
 * browser ever sees. Changing the source ends every client secret handed out so far (a frontend
 * then has its server read `Payment.clientSecret` again).
 */
export function clientSecretsFromConfig(config: Pick<Config, 'umsAppKey' | 'umsNotifyKey'>, gatewaySecretKey?: Buffer): ClientSecrets {
  if (gatewaySecretKey && gatewaySecretKey.length > 0) return new ClientSecrets(gatewaySecretKey);
  return new ClientSecrets(`${config.umsAppKey.reveal()}\u0000${config.umsNotifyKey.reveal()}`);
}

/** True once a final payment has been quiet for 24 h: its client secret no longer works. */
export function clientSecretExpired(payment: { readonly status: string; readonly updatedAt: Date }, now: number): boolean {
  return !isOpen(payment.status as PaymentStatus) && now - payment.updatedAt.getTime() >= CLIENT_SECRET_AFTER_FINAL_MS;
}
