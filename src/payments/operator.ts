/**
 * The operator workflows' long-lived parts, built in one step by app.ts: the reconciler (runs in
 * the background, resumed across instances, the daily schedule) and, with
 * LATE_PAYMENT_POLICY=refund, the job that refunds payments reported after a close.
 */
import { eq } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { merchants } from '../db/schema.js';
import type { Logger } from '../log.js';
import { DEFAULT_MERCHANT_ID } from '../merchants/ids.js';
import type { PaymentService } from './commands.js';
import { LatePaymentRefunder, PAID_AFTER_CLOSE } from './late-payments.js';
import { Reconciler } from './reconcile/reconciler.js';

export interface OperatorWorkflows {
  reconciler: Reconciler;
  /** What GraphQL's resolveReview and reconcile call. */
  services: {
    resolveReview: PaymentService['resolveReview'];
    reconcile: Reconciler['reconcile'];
  };
  /** Tells the workflows a payment was just flagged (committed) with `reason`: a late payment is refunded at once under LATE_PAYMENT_POLICY=refund. */
  flagged(reason: string | undefined): void;
  close(): Promise<void>;
}

export function startOperatorWorkflows(deps: {
  config: Config;
  db: Database;
  commands: PaymentService;
  log: Logger;
  reconcile?: { leaseMs?: number; pollMs?: number; umsPerSecond?: number };
}): OperatorWorkflows {
  const { config, db, commands, log } = deps;
  const reconciler = new Reconciler({
    db,
    ask: (payment) => commands.askUms(payment),
    log: log.child({ part: 'reconcile' }),
    dailyAt: config.reconcileDailyAt,
    merchants: async () => {
      const rows = await db.select({ id: merchants.id }).from(merchants).where(eq(merchants.enabled, true));
      return [DEFAULT_MERCHANT_ID, ...rows.map((r) => r.id)];
    },
    ...deps.reconcile,
  }).start();
  const late = config.latePaymentPolicy === 'refund' ? new LatePaymentRefunder({ db, resolveReview: (input) => commands.resolveReview(input), log: log.child({ part: 'late-payments' }) }).start() : undefined;
  return {
    reconciler,
    services: {
      resolveReview: (input) => commands.resolveReview(input),
      reconcile: (request) => reconciler.reconcile(request),
    },
    flagged(reason) {
      if (reason === PAID_AFTER_CLOSE) late?.wake();
    },
    async close() {
      await late?.stop();
      await reconciler.close();
    },
  };
}
