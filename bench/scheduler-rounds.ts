/**
 * Figure: the sync scheduler's rounds over 10,000 open payments (issue 18: "it must not scan them
 * all every round").
 *
 * On a database of its own (created and dropped here, so the other figures' payments do not
 * count), two open sets in turn: SMALL open payments, all due; LARGE open payments of which the
 * same SMALL are due and the rest are planned for later (as the gaps spread them). For each:
 * - rows read by the claim's select: `EXPLAIN (ANALYZE, FORMAT JSON)` of `duePaymentsQuery`
 *   (the very query a round runs), summing each scan of `payments`: rows returned plus rows
 *   removed by a filter or an index recheck;
 * - time per round: the real scheduler's `runOnce()` (claims, one UMS question per claimed
 *   payment, refunds, the idempotency purge), with commands that answer at once (UMS is not
 *   what is measured here), the due rows made due again between rounds; median of ROUNDS.
 * The figure is LARGE against SMALL: a ratio near 1 says the round does not grow with the open set.
 */
import { sql } from 'drizzle-orm';
import { openDatabase, type Database, type DatabaseHandle } from '../src/db/database.js';
import type { PaymentRow } from '../src/db/schema.js';
import { duePaymentsQuery } from '../src/payments/sync/claims.js';
import { startSyncScheduler, type SyncCommands } from '../src/payments/sync/scheduler.js';
import { createBenchDatabase } from './database.js';
import { figure, type BenchContext, type FigureResult } from './figure.js';
import { median } from './stats.js';

const SMALL = 100;
const LARGE = 10_000;
const ROUNDS = 7;
const AFTER_MS = 60_000;
/** The scheduler's default batch: a round claims at most this many. */
const BATCH = 100;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

function rowsOf(result: unknown): Record<string, unknown>[] {
  // postgres.js answers an array of rows; PGlite an object with `rows`.
  return Array.isArray(result) ? (result as Record<string, unknown>[]) : ((result as { rows: Record<string, unknown>[] }).rows ?? []);
}

/** Rows of `payments` the plan read, and how (e.g. "Index Scan on payments_next_sync_idx"). */
function paymentRowsRead(node: PlanNode): { rows: number; scans: string[] } {
  let rows = 0;
  const scans: string[] = [];
  if (node['Relation Name'] === 'payments') {
    const loops = node['Actual Loops'] ?? 1;
    rows += ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * loops;
    scans.push(`${node['Node Type']}${node['Index Name'] ? ` on ${node['Index Name']}` : ''}`);
  }
  for (const child of node.Plans ?? []) {
    const sub = paymentRowsRead(child);
    rows += sub.rows;
    scans.push(...sub.scans);
  }
  return { rows, scans };
}

/** `open` open payments quiet for an hour; the first `due` are due, the rest due over the next day. */
async function seed(db: Database, open: number, due: number): Promise<void> {
  await db.execute(sql`truncate payments cascade`);
  await db.execute(sql`
    insert into payments (mer_order_id, status, total_amount, mid, tid, next_sync_at, last_event_at, created_at, updated_at)
    select 'SCHED' || lpad(i::text, 6, '0'), 'WAIT_BUYER_PAY', 100, '898201612345678', '88880001',
           case when i < ${due} then now() - interval '1 minute' else now() + (i * interval '8 seconds') end,
           now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
    from generate_series(0, ${open - 1}) as i`);
  await db.execute(sql`analyze payments`);
}

async function makeDueAgain(db: Database, due: number): Promise<void> {
  await db.execute(sql`update payments set next_sync_at = now() - interval '1 minute' where mer_order_id < ${`SCHED${String(due).padStart(6, '0')}`}`);
}

async function measure(db: Database, open: number): Promise<{ rowsRead: number; scans: string[]; roundMs: number[]; claimed: number }> {
  await seed(db, open, SMALL);
  const [explained] = rowsOf(await db.execute(sql`explain (analyze, format json) ${duePaymentsQuery(db, { now: new Date(), afterMs: AFTER_MS, limit: BATCH })}`));
  const plan = (explained?.['QUERY PLAN'] as { Plan: PlanNode }[] | undefined)?.[0]?.Plan;
  if (!plan) throw new Error('scheduler rounds: EXPLAIN returned no plan');
  const { rows: rowsRead, scans } = paymentRowsRead(plan);

  // UMS answers at once: "still open", so each claimed payment keeps the next gap the claim planned.
  const commands: SyncCommands = {
    syncPayment: async (payment: PaymentRow) => payment,
    closePayment: async (payment: PaymentRow) => payment,
    settleRefund: async (refund) => refund,
  };
  const scheduler = startSyncScheduler({ db, commands, config: { afterMs: AFTER_MS, intervalMs: 60_000, batchSize: BATCH, autoStart: false } });
  const roundMs: number[] = [];
  let claimed = 0;
  try {
    for (let i = 0; i < ROUNDS; i++) {
      await makeDueAgain(db, SMALL);
      const started = performance.now();
      const report = await scheduler.runOnce();
      roundMs.push(performance.now() - started);
      claimed = report.payments.length;
    }
  } finally {
    await scheduler.stop();
  }
  return { rowsRead, scans, roundMs, claimed };
}

export async function schedulerRoundFigures(context: BenchContext): Promise<FigureResult[]> {
  const database = await createBenchDatabase();
  let handle: DatabaseHandle | undefined;
  try {
    handle = await openDatabase(database.url ? { url: database.url } : {});
    const small = await measure(handle.db, SMALL);
    const large = await measure(handle.db, LARGE);
    const show = (values: number[]) => values.map((v) => v.toFixed(1)).join(', ');
    context.log(`scheduler rounds: ${SMALL} open: ${small.rowsRead} rows read (${small.scans.join(', ')}), rounds ${show(small.roundMs)} ms`);
    context.log(`scheduler rounds: ${LARGE} open: ${large.rowsRead} rows read (${large.scans.join(', ')}), rounds ${show(large.roundMs)} ms`);
    const where = database.driver === 'postgres' ? 'Postgres' : 'PGlite';
    return [
      figure({
        name: `sync scheduler: rows read per round, ${LARGE.toLocaleString('en-US')} open payments`,
        value: large.rowsRead,
        unit: 'rows',
        baseline: `the same with ${SMALL} open payments (all due)`,
        baselineValue: small.rowsRead,
        digits: 0,
        target: 'ratio ≤ 1.5 (does not grow with the open set)',
        met: large.rowsRead <= 1.5 * small.rowsRead,
        notes: `${SMALL} due in both, batch ${BATCH}; EXPLAIN ANALYZE of the claim's select on ${where}: ${large.scans.join(', ')}; claimed per round ${large.claimed} / ${small.claimed}`,
      }),
      figure({
        name: `sync scheduler: time per round, ${LARGE.toLocaleString('en-US')} open payments`,
        value: median(large.roundMs),
        unit: 'ms',
        baseline: `the same with ${SMALL} open payments (all due)`,
        baselineValue: median(small.roundMs),
        digits: 1,
        target: 'ratio ≤ 1.5',
        met: median(large.roundMs) <= 1.5 * median(small.roundMs),
        notes: `runOnce() with UMS answering at once, ${SMALL} payments claimed per round, median of ${ROUNDS} on ${where} (${show(large.roundMs)} vs ${show(small.roundMs)})`,
      }),
    ];
  } finally {
    await handle?.close();
    await database.drop();
  }
}
