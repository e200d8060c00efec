/**
 * The sync scheduler: so that no payment waits on a lost notification.
 *
 * Every `intervalMs` one round runs: claim due payments and refunds (claims.ts: safe with many
 * instances), then, outside any lock, ask UMS about each and store its answer through the ledger
 * with source SYNC:
 * - an open order with no news for `afterMs` is queried, again and again with growing gaps;
 * - an order past its expire_time that UMS still calls open is closed at UMS, not only locally;
 * - a refund PROCESSING or UNKNOWN is settled by refund-query; one still pending when the gaps
 *   run out is marked UNKNOWN and its payment flagged for review (review.ts), never left silent.
 * A round also purges Idempotency-Keys older than a day.
 *
 * Operators see failures: each round's summary counts the questions UMS could not answer (by
 * code), at warn level when any failed and with a plain "every question failed" when none got an
 * answer (UMS down or unreachable); `onRound` hands the report to metrics. Readiness stays about
 * the database: a UMS outage shows here and in the metrics, never in /readyz.
 *
 * `stop()` lets the round in progress finish (its claims are already pushed forward; finishing
 * them stores what UMS said) and starts no other.
 */
import type { Database } from '../../db/database.js';
import type { PaymentRow, RefundRow } from '../../db/schema.js';
import { errorSummary } from '../../lib/errors.js';
import type { Logger } from '../../log.js';
import { PaymentError } from '../errors.js';
import { Idempotency } from '../idempotency.js';
import { isOpen, type EventSource, type PaymentStatus } from '../status.js';
import { claimDuePayments, claimDueRefunds, rescheduleIfUnchanged, type ClaimedPayment, type ClaimedRefund } from './claims.js';
import { markRefundUnsettled } from './review.js';
import { DEFAULT_GAPS, type GapStep } from './gaps.js';

/** What the scheduler needs from the commands (PaymentService implements it). */
export interface SyncCommands {
  syncPayment(payment: PaymentRow, source: EventSource): Promise<PaymentRow>;
  closePayment(payment: PaymentRow, source: EventSource): Promise<PaymentRow>;
  settleRefund(refund: RefundRow, source: EventSource): Promise<RefundRow>;
}

export interface SyncSchedulerConfig {
  /** PAYMENT_SYNC_AFTER_MS. */
  afterMs: number;
  /** PAYMENT_SYNC_INTERVAL_MS: time between the end of one round and the start of the next. */
  intervalMs: number;
  /** Most payments (and most refunds) claimed per round. Default 100. */
  batchSize?: number;
  /** UMS calls in flight at once within a round. Default 4. */
  concurrency?: number;
  gaps?: readonly GapStep[];
  /** Start the timer (default true). Tests that drive rounds with runOnce() pass false. */
  autoStart?: boolean;
}

export interface SyncSchedulerOptions {
  db: Database;
  commands: SyncCommands;
  config: SyncSchedulerConfig;
  log?: Logger;
  /** Purges expired Idempotency-Keys once per round; by default one over `db`. */
  idempotency?: Idempotency;
  /** Called with every finished round's report (metrics: questions answered and failed). */
  onRound?: (report: RoundReport) => void;
  now?: () => Date;
}

export interface RoundReport {
  startedAt: Date;
  ms: number;
  /** merOrderIds claimed (and asked about) in this round. */
  payments: string[];
  /** refundOrderIds claimed in this round. */
  refunds: string[];
  /** Payments whose status changed, with the new status. */
  changed: { merOrderId: string; from: string; to: string }[];
  /** merOrderIds closed at UMS because they expired. */
  closed: string[];
  /** Refunds that reached a final status (SUCCESS or FAIL). */
  refundsSettled: { refundOrderId: string; status: string }[];
  /** Questions asked of UMS this round: one per payment and per refund claimed. */
  questions: number;
  /** Questions UMS could not answer this round (they come due again at the next gap). */
  errors: { id: string; code: string }[];
  purgedIdempotencyKeys: number;
}

export interface SyncScheduler {
  /** Runs one round now (or joins the one running) and reports it. */
  runOnce(): Promise<RoundReport>;
  /** Stops the timer and waits for the round in progress to finish. */
  stop(): Promise<void>;
}

export function startSyncScheduler(options: SyncSchedulerOptions): SyncScheduler {
  const { db, commands, config, log } = options;
  const now = options.now ?? (() => new Date());
  const gaps = config.gaps ?? DEFAULT_GAPS;
  const limit = config.batchSize ?? 100;
  const concurrency = Math.max(1, config.concurrency ?? 4);
  const idempotency = options.idempotency ?? new Idempotency(db, { now });

  let current: Promise<RoundReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function round(): Promise<RoundReport> {
    const startedAt = now();
    const report: RoundReport = {
      startedAt,
      ms: 0,
      payments: [],
      refunds: [],
      changed: [],
      closed: [],
      refundsSettled: [],
      questions: 0,
      errors: [],
      purgedIdempotencyKeys: 0,
    };
    const claimOptions = { now: startedAt, afterMs: config.afterMs, limit, gaps };

    const claimed = await claimDuePayments(db, claimOptions);
    report.payments = claimed.map((c) => c.payment.merOrderId);
    await inParallel(claimed, concurrency, (c) => syncOne(c, report));

    const dueRefunds = await claimDueRefunds(db, claimOptions);
    report.refunds = dueRefunds.map((r) => r.refund.refundOrderId);
    await inParallel(dueRefunds, concurrency, (r) => settleOne(r, report));

    try {
      report.purgedIdempotencyKeys = await idempotency.purgeExpired();
    } catch (err) {
      log?.warn({ err: errorSummary(err) }, 'sync: purging idempotency keys failed');
    }

    report.questions = report.payments.length + report.refunds.length;
    report.ms = now().getTime() - startedAt.getTime();
    logRound(report);
    try {
      options.onRound?.(report);
    } catch (err) {
      log?.warn({ err: errorSummary(err) }, 'sync: round observer failed');
    }
    return report;
  }

  function logRound(report: RoundReport): void {
    if (report.questions === 0) return;
    const summary = {
      payments: report.payments.length,
      refunds: report.refunds.length,
      changed: report.changed.length,
      closed: report.closed.length,
      errors: report.errors.length,
      ms: report.ms,
    };
    if (report.errors.length === 0) {
      log?.info(summary, 'sync round');
      return;
    }
    const errorCodes: Record<string, number> = {};
    for (const { code } of report.errors) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    const allFailed = report.errors.length >= report.questions;
    log?.warn(
      { ...summary, errorCodes },
      allFailed ? 'sync round: every question to UMS failed (is UMS reachable?)' : 'sync round: some questions to UMS failed',
    );
  }

  async function syncOne(claim: ClaimedPayment, report: RoundReport): Promise<void> {
    const before = claim.payment;
    const merOrderId = before.merOrderId;
    try {
      let after: PaymentRow;
      if (claim.expired && isOpen(before.status as PaymentStatus)) {
        // Close at UMS, not only here. A paid order cannot be closed: UMS refuses, and
        // closePayment then queries and stores the truth (TRADE_SUCCESS).
        after = await commands.closePayment(before, 'SYNC');
        if (after.status === 'TRADE_CLOSED') report.closed.push(merOrderId);
      } else {
        after = await commands.syncPayment(before, 'SYNC');
      }
      if (after.status !== before.status) report.changed.push({ merOrderId, from: before.status, to: after.status });
      // Settled (or flagged for a person): no more questions. Open: the claim already planned the next.
      // Both only if next_sync_at is still what this round's answer left: a "now" set since (a
      // notice, a review flag) is newer news and stands.
      if (!isOpen(after.status as PaymentStatus)) {
        if (after.nextSyncAt !== null) await rescheduleIfUnchanged(db, merOrderId, after.nextSyncAt, null);
      } else if (after.needsReview && after.nextSyncAt?.getTime() !== claim.next?.getTime()) {
        // A review flag asks for a query "now"; that query was this one: keep the planned gap.
        await rescheduleIfUnchanged(db, merOrderId, after.nextSyncAt, claim.next);
      }
      if (claim.lastTry && isOpen(after.status as PaymentStatus)) {
        log?.warn({ merOrderId, status: after.status }, 'sync: still open after a day of questions; giving up, needs an operator');
      }
    } catch (err) {
      report.errors.push({ id: merOrderId, code: errorCode(err) });
      log?.warn({ merOrderId, code: errorCode(err), err: errorSummary(err) }, 'sync: UMS could not answer; will ask again');
    }
  }

  async function settleOne({ refund, lastTry }: ClaimedRefund, report: RoundReport): Promise<void> {
    let settled = false;
    try {
      const after = await commands.settleRefund(refund, 'SYNC');
      settled = after.status === 'SUCCESS' || after.status === 'FAIL';
      if (settled) report.refundsSettled.push({ refundOrderId: refund.refundOrderId, status: after.status });
    } catch (err) {
      report.errors.push({ id: refund.refundOrderId, code: errorCode(err) });
      log?.warn(
        { merOrderId: refund.merOrderId, refundOrderId: refund.refundOrderId, code: errorCode(err), err: errorSummary(err) },
        lastTry ? 'sync: refund-query failed on the last try' : 'sync: refund-query failed; will ask again',
      );
    }
    if (settled || !lastTry) return;
    // Nothing will ask again: without this the refund would stay pending for ever, silently
    // holding its amount against the remaining-refundable check.
    log?.warn(
      { merOrderId: refund.merOrderId, refundOrderId: refund.refundOrderId },
      'sync: refund still not settled after a day of questions; marked UNKNOWN, payment flagged for review',
    );
    try {
      await markRefundUnsettled(db, refund);
    } catch (err) {
      log?.error({ refundOrderId: refund.refundOrderId, err: errorSummary(err) }, 'sync: could not flag an unsettled refund for review');
    }
  }

  function runOnce(): Promise<RoundReport> {
    current ??= round().finally(() => {
      current = undefined;
    });
    return current;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      runOnce()
        .catch((err: unknown) => log?.error({ err: errorSummary(err) }, 'sync round failed'))
        .finally(schedule);
    }, config.intervalMs);
    // The scheduler alone never keeps the process alive; the HTTP server does.
    timer.unref();
  }

  if (config.autoStart !== false) schedule();

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (current) await current.catch(() => undefined);
    },
  };
}

async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

function errorCode(err: unknown): string {
  if (err instanceof PaymentError) return err.details.errCode ?? err.code;
  return err instanceof Error ? err.name : 'Error';
}

