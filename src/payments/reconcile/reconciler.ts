/**
 * Reconciliation by query-back (CONTRACT.md "Operator workflows"): UMS publishes no statement
 * API, so a run asks UMS about every payment of a merchant's Beijing business day, one at a time,
 * through the same query syncPayment makes (and so through the merchant's own UMS client).
 *
 * A run is stored first (RUNNING) and worked in the background: its payments are listed into
 * items once, then looked at in batches of `batchSize`, `concurrency` at a time, no faster than
 * `umsPerSecond` UMS calls. What UMS shows we missed is applied through the ledger (source SYNC);
 * everything is classified (classify.ts) and stored per item, so the run's counts and totals are
 * sums over items.
 *
 * Surviving a crash: the instance working a run holds a lease on it, renewed while it works. Every
 * instance looks every `pollMs` for a RUNNING run whose lease ran out and takes it up; items
 * already classified are not asked again (resumed without double counting). A graceful stop lets
 * go of the lease at once.
 *
 * The daily schedule (RECONCILE_DAILY_AT): once Beijing time is past it, each instance tries to
 * create the daily run of the day before for each merchant; a unique index on (date, merchant)
 * of daily runs lets exactly one insert win, and only the winner works it.
 */
import { randomBytes } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import type { Database } from '../../db/database.js';
import { payments, type PaymentRow, type ReconciliationRunRow } from '../../db/schema.js';
import { errorSummary } from '../../lib/errors.js';
import type { Logger } from '../../log.js';
import { beijingDate } from '../../ums/time.js';
import type { UmsAnswer } from '../commands.js';
import { PaymentError, isPaymentError } from '../errors.js';
import { applyReport, type ApplyResult } from '../ledger.js';
import { classify, classifyError } from './classify.js';
import { beijingDay, isPastBeijingTime, previousBeijingDay } from './days.js';
import { RateGate } from './rate-gate.js';
import { claimAbandoned, createRun, dailyRunExists, startManualRun, finishRun, listDayIntoItems, pendingItems, recordItem, releaseLease, renewLease } from './runs.js';

export interface ReconcilerOptions {
  db: Database;
  /** The look at UMS for one payment: the commands' askUms (syncPayment's query), nothing stored. */
  ask: (payment: PaymentRow) => Promise<UmsAnswer>;
  log?: Logger | undefined;
  /** RECONCILE_DAILY_AT (HH:MM Beijing); undefined: no schedule. */
  dailyAt?: string | undefined;
  /** The merchants the schedule reconciles; default just `default`. */
  merchants?: () => Promise<readonly string[]>;
  /** How long a run stays held without a renewal. Default 30 s. */
  leaseMs?: number;
  /** How often abandoned runs and the schedule are looked at. Default 5 s. */
  pollMs?: number;
  batchSize?: number;
  concurrency?: number;
  /** UMS calls per second at most, across this instance's runs. Default 10. */
  umsPerSecond?: number;
  /** At most this many runs worked at once by this instance. Default 2. */
  maxRuns?: number;
  now?: () => Date;
}

export interface ReconcileRequest {
  date: string;
  merchantId: string;
  actor: string;
}

export class Reconciler {
  readonly #db: Database;
  readonly #options: ReconcilerOptions;
  readonly #owner = `inst_${randomBytes(6).toString('hex')}`;
  readonly #leaseMs: number;
  readonly #gate: RateGate;
  readonly #active = new Map<string, { abort: AbortController; done: Promise<void> }>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #closed = false;

  constructor(options: ReconcilerOptions) {
    this.#db = options.db;
    this.#options = options;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#gate = new RateGate(options.umsPerSecond ?? 10);
  }

  /** Starts looking for abandoned runs and the daily time, every pollMs (and once now). */
  start(): this {
    const pollMs = this.#options.pollMs ?? 5_000;
    const tick = () => {
      if (this.#closed || this.#ticking) return;
      this.#ticking = this.#tick()
        .catch((err: unknown) => this.#options.log?.warn({ err: errorSummary(err) }, 'reconcile: look for work failed'))
        .finally(() => (this.#ticking = undefined));
    };
    this.#timer = setInterval(tick, pollMs);
    this.#timer.unref();
    tick();
    return this;
  }

  /** Stores a run and starts it in the background; answers the RUNNING run. */
  async reconcile(request: ReconcileRequest): Promise<ReconciliationRunRow> {
    const day = beijingDay(request.date);
    if (!day) throw new PaymentError('BAD_USER_INPUT', 'date must be a Beijing business day written YYYY-MM-DD', { field: 'date' });
    if (request.date > beijingDate(this.#now())) throw new PaymentError('BAD_USER_INPUT', `date ${request.date} is in the future (Beijing time)`, { field: 'date' });
    if (this.#closed) throw new PaymentError('UMS_UNAVAILABLE', 'the gateway is shutting down; try again');
    // At most one RUNNING run per (merchant, date): asking again answers it. A new one counts
    // against the same cap as the daily and taken-up runs (maxRuns), not beside it.
    const maxRuns = this.#options.maxRuns ?? 2;
    const { run, created } = await startManualRun(this.#db, { ...request, owner: this.#owner, leaseMs: this.#leaseMs }, () => {
      if (this.#active.size >= maxRuns) {
        throw new PaymentError('CONFLICT', `${maxRuns} reconciliation runs are already being worked here; try again when one is done`);
      }
    });
    if (created) this.#work(run);
    return run;
  }

  /** Resolves once no run is being worked by this instance (tests). */
  async idle(): Promise<void> {
    while (this.#active.size > 0) await Promise.all([...this.#active.values()].map((a) => a.done));
  }

  /** Stops taking work, stops the runs being worked and lets go of their leases. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const { abort } of this.#active.values()) abort.abort();
    await this.#ticking;
    await this.idle();
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  async #tick(): Promise<void> {
    await this.#daily();
    while (!this.#closed && this.#active.size < (this.#options.maxRuns ?? 2)) {
      const run = await claimAbandoned(this.#db, this.#owner, this.#leaseMs);
      if (!run) return;
      this.#options.log?.warn({ runId: run.id, date: run.date, merchantId: run.merchantId }, 'reconcile: taking up a run its instance left');
      this.#work(run);
    }
  }

  async #daily(): Promise<void> {
    const at = this.#options.dailyAt;
    const now = this.#now();
    if (at === undefined || !isPastBeijingTime(now, at)) return;
    const date = previousBeijingDay(now);
    const merchants = (await this.#options.merchants?.()) ?? ['default'];
    for (const merchantId of merchants) {
      if (this.#closed) return;
      if (await dailyRunExists(this.#db, date, merchantId)) continue;
      const run = await createRun(this.#db, { date, merchantId, trigger: 'daily', actor: 'system', owner: this.#owner, leaseMs: this.#leaseMs });
      if (!run) continue; // another instance won the insert
      this.#options.log?.info({ runId: run.id, date, merchantId }, 'reconcile: daily run started');
      this.#work(run);
    }
  }

  #work(run: ReconciliationRunRow): void {
    if (this.#active.has(run.id)) return;
    const abort = new AbortController();
    const done = this.#run(run, abort).finally(() => this.#active.delete(run.id));
    this.#active.set(run.id, { abort, done });
  }

  async #run(run: ReconciliationRunRow, abort: AbortController): Promise<void> {
    const signal = abort.signal;
    const log = this.#options.log?.child({ runId: run.id, date: run.date, merchantId: run.merchantId });
    let lost = false;
    // Renewed on a timer too, not only between batches: a batch of slow UMS answers must not let the lease lapse.
    const heartbeat = setInterval(() => {
      renewLease(this.#db, run.id, this.#owner, this.#leaseMs)
        .then((held) => {
          if (held || signal.aborted) return;
          lost = true;
          log?.warn('reconcile: lease lost (another instance holds the run); stopping here');
          abort.abort();
        })
        .catch(() => undefined);
    }, Math.max(50, Math.floor(this.#leaseMs / 3)));
    heartbeat.unref();
    try {
      const day = beijingDay(run.date);
      if (!day) throw new Error(`run ${run.id} has an invalid date ${run.date}`);
      if (!run.listedAt) await listDayIntoItems(this.#db, run, day);
      for (;;) {
        if (signal.aborted) return;
        if (!(await renewLease(this.#db, run.id, this.#owner, this.#leaseMs))) {
          lost = true;
          log?.warn('reconcile: lease lost (another instance holds the run); stopping here');
          return;
        }
        const ids = await pendingItems(this.#db, run.id, this.#options.batchSize ?? 50);
        if (ids.length === 0) break;
        await this.#batch(run, ids, signal);
      }
      await finishRun(this.#db, run.id, this.#owner, { status: 'DONE' });
      log?.info('reconcile: run done');
    } catch (err) {
      log?.error({ err: errorSummary(err) }, 'reconcile: run failed');
      await finishRun(this.#db, run.id, this.#owner, { status: 'FAILED', error: errorSummary(err).message ?? 'failed' }).catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
      // A stop (not a lost lease): let another instance take it up now rather than after the lease.
      if (signal.aborted && !lost) await releaseLease(this.#db, run.id, this.#owner).catch(() => undefined);
    }
  }

  /** Looks at one batch, `concurrency` payments at a time. */
  async #batch(run: ReconciliationRunRow, ids: readonly string[], signal: AbortSignal): Promise<void> {
    const rows = await this.#db.select().from(payments).where(inArray(payments.merOrderId, [...ids]));
    const byId = new Map(rows.map((r) => [r.merOrderId, r]));
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && !signal.aborted; id = queue.shift()) {
        await this.#one(run, id, byId.get(id), signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#options.concurrency ?? 4, ids.length) }, worker));
  }

  async #one(run: ReconciliationRunRow, merOrderId: string, before: PaymentRow | undefined, signal: AbortSignal): Promise<void> {
    if (!before) return recordItem(this.#db, run.id, merOrderId, classifyError(undefined, 'payment not found'));
    if (!(await this.#gate.wait(signal))) return;
    let found;
    try {
      const answer = await this.#options.ask(before);
      let applied: ApplyResult | undefined;
      if (answer.kind === 'report') {
        applied = await applyReport(this.#db, answer.report, 'SYNC', { payload: { answer: 'reconcile', runId: run.id, status: answer.report.status } });
      }
      found = classify(before, answer, applied);
    } catch (err) {
      if (signal.aborted) return; // stopped mid-call: the item stays for whoever takes the run up
      found = classifyError(before, isPaymentError(err) ? `${err.code}: ${err.message}` : 'internal error');
      if (!isPaymentError(err)) this.#options.log?.error({ err: errorSummary(err), merOrderId }, 'reconcile: item failed');
    }
    await recordItem(this.#db, run.id, merOrderId, found);
  }
}
