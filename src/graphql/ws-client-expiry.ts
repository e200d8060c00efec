/**
 * Open WebSockets of client secrets, closed with 4403 Forbidden once their secret stops working
 * (24 h after the payment's last change, once it is final: src/access/client-secret.ts). A key's
 * revocation is heard from the key cache (ws-key-watch.ts); a secret's end depends on its
 * payment's row, so each socket reads it when the end is due (or once an hour while the payment
 * is open, or the database did not answer), never on a tight loop.
 */
import { CLIENT_SECRET_AFTER_FINAL_MS, clientSecretExpired } from '../access/client-secret.js';
import { isOpen, type PaymentStatus } from '../payments/status.js';
import { KEY_REVOKED_CLOSE_CODE, type WatchedSocket } from './ws-key-watch.js';

type PaymentFacts = { readonly status: string; readonly updatedAt: Date };

export interface ClientSecretExpiryOptions {
  /** The payment's row (any merchant's: the secret was already checked). */
  find: (merOrderId: string) => Promise<PaymentFacts | undefined>;
  /** Longest wait between two reads of a payment (default one hour). */
  recheckMs?: number;
  now?: () => number;
}

export class ClientSecretExpiry {
  readonly #find: ClientSecretExpiryOptions['find'];
  readonly #recheckMs: number;
  readonly #now: () => number;

  constructor(options: ClientSecretExpiryOptions) {
    this.#find = options.find;
    this.#recheckMs = options.recheckMs ?? 60 * 60 * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Closes `socket` (4403) once the client secret of `merOrderId` no longer works. */
  watch(merOrderId: string, socket: WatchedSocket): void {
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    socket.once('close', () => {
      closed = true;
      clearTimeout(timer);
    });
    const schedule = (payment: PaymentFacts | undefined) => {
      if (closed) return;
      const due = payment && !isOpen(payment.status as PaymentStatus) ? payment.updatedAt.getTime() + CLIENT_SECRET_AFTER_FINAL_MS - this.#now() : this.#recheckMs;
      timer = setTimeout(check, Math.min(Math.max(due, 0), this.#recheckMs));
      timer.unref();
    };
    const check = async () => {
      let payment: PaymentFacts | undefined;
      try {
        payment = await this.#find(merOrderId);
      } catch {
        // The database did not answer: keep the socket, ask again later.
        return schedule(undefined);
      }
      if (closed) return;
      if (!payment || clientSecretExpired(payment, this.#now())) {
        socket.close(KEY_REVOKED_CLOSE_CODE, 'Forbidden');
        return;
      }
      schedule(payment);
    };
    void check();
  }
}
