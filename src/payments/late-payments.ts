/**
 * LATE_PAYMENT_POLICY: what happens to a payment UMS reports after the gateway closed the order
 * (the buyer paid while, or just after, the order timed out here). The ledger never applies it
 * silently: it flags the payment for review with reason `paid-after-close` (status.ts).
 *
 * - `review` (default): the flag stays for an operator (resolveReview ACCEPT keeps the money and
 *   records the payment paid; REFUND gives it back).
 * - `refund`: this job refunds such payments in full, automatically: it is resolveReview REFUND
 *   acted by `system`, run right after the flag's transaction committed (the notify route wakes
 *   it: `wake()`), and again every `intervalMs` through the partial index of flagged payments
 *   (payments_review_idx), so a flag stored by another instance, by a sync, or just before a crash
 *   is refunded too; once, since the refund id derives from the case.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { payments, type PaymentRow } from '../db/schema.js';
import { errorSummary } from '../lib/errors.js';
import type { Logger } from '../log.js';
import type { ResolveReviewInput } from './commands.js';

/** The review reason the ledger gives a payment reported after a close (status.ts 'paid-after-close'). */
export const PAID_AFTER_CLOSE = 'paid-after-close';
export const LATE_PAYMENT_REFUND_NOTE = 'LATE_PAYMENT_POLICY=refund: paid after the order was closed, refunded in full automatically';

export interface LatePaymentRefunderOptions {
  db: Database;
  resolveReview: (input: ResolveReviewInput) => Promise<PaymentRow>;
  log?: Logger | undefined;
  /** Default 5 s. */
  intervalMs?: number;
  /** Payments handled per round. Default 20. */
  batchSize?: number;
}

export class LatePaymentRefunder {
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(private readonly options: LatePaymentRefunderOptions) {}

  start(): this {
    this.#timer = setInterval(() => this.wake(), this.options.intervalMs ?? 5_000);
    this.#timer.unref();
    this.wake();
    return this;
  }

  /**
   * Runs a round now (or right after the one under way): called when this instance has just
   * committed a `paid-after-close` flag, so the refund follows the commit at once rather than
   * at the next tick. The timer still catches flags committed by other instances, or before a crash.
   */
  wake(): void {
    if (this.#stopped) return;
    if (this.#round) {
      this.#again = true;
      return;
    }
    this.#round = this.runOnce()
      .catch((err: unknown) => this.options.log?.warn({ err: errorSummary(err) }, 'late payments: round failed'))
      .finally(() => {
        this.#round = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  /** One round: refunds each payment flagged paid-after-close (failures are retried next round). */
  async runOnce(): Promise<void> {
    const flagged = await this.options.db
      .select({ merOrderId: payments.merOrderId })
      .from(payments)
      .where(and(sql`${payments.needsReview}`, eq(payments.reviewReason, PAID_AFTER_CLOSE)))
      .limit(this.options.batchSize ?? 20);
    for (const { merOrderId } of flagged) {
      if (this.#stopped) return;
      try {
        await this.options.resolveReview({ merOrderId, resolution: 'REFUND', note: LATE_PAYMENT_REFUND_NOTE, actor: 'system' });
        this.options.log?.info({ merOrderId }, 'late payment refunded (LATE_PAYMENT_POLICY=refund)');
      } catch (err) {
        this.options.log?.warn({ merOrderId, err: errorSummary(err) }, 'late payment: refund failed; retried next round');
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#round;
  }
}
