/**
 * The stored runs and items of reconciliation: the one writer of reconciliation_runs and
 * reconciliation_items, plus the reads GraphQL makes of them.
 *
 * Leases are measured on the database's clock (`now()`), so instances whose clocks drift still
 * agree on when a run was abandoned.
 */
import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, isNull, sql, type SQLWrapper } from 'drizzle-orm';
import type { Database } from '../../db/database.js';
import { paymentEvents, payments, reconciliationItems, reconciliationRuns, refunds, type ReconciliationItemRow, type ReconciliationRunRow } from '../../db/schema.js';
import type { Classified, ReconciliationKind } from './classify.js';

export type RunTrigger = 'manual' | 'daily';

const leaseEnd = (leaseMs: number) => sql`now() + ${leaseMs} * interval '1 millisecond'`;

export interface NewRun {
  date: string;
  merchantId: string;
  trigger: RunTrigger;
  actor: string;
  owner: string;
  leaseMs: number;
}

/** Stores a RUNNING run held by `owner`. A daily run that exists already (another instance) gives undefined. */
export async function createRun(db: Database, run: NewRun): Promise<ReconciliationRunRow | undefined> {
  const [row] = await db
    .insert(reconciliationRuns)
    .values({
      id: `rec_${randomBytes(12).toString('base64url')}`,
      date: run.date,
      merchantId: run.merchantId,
      trigger: run.trigger,
      status: 'RUNNING',
      actor: run.actor,
      leaseOwner: run.owner,
      leaseUntil: leaseEnd(run.leaseMs),
    })
    .onConflictDoNothing()
    .returning();
  return row;
}

/**
 * A manual run of (merchant, date): the one RUNNING already, if any (`created` false), else a new
 * one unless `checkRoom()` throws (no room to work it here). Serialized per (merchant, date) by a transaction-scoped
 * advisory lock, so two concurrent requests (on any instances) cannot both create one.
 */
export async function startManualRun(
  db: Database,
  run: Omit<NewRun, 'trigger'>,
  checkRoom: () => void,
): Promise<{ run: ReconciliationRunRow; created: boolean }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`reconcile:${run.merchantId}:${run.date}`}))`);
    const [running] = await tx
      .select()
      .from(reconciliationRuns)
      .where(and(eq(reconciliationRuns.merchantId, run.merchantId), eq(reconciliationRuns.date, run.date), eq(reconciliationRuns.status, 'RUNNING')))
      .orderBy(asc(reconciliationRuns.startedAt))
      .limit(1);
    if (running) return { run: running, created: false };
    checkRoom();
    const row = await createRun(tx, { ...run, trigger: 'manual' });
    if (!row) throw new Error('reconciliation run insert returned nothing');
    return { run: row, created: true };
  });
}

/**
 * Lists the run's payments into its items, once: every payment of the merchant created on the
 * day, changed on the day (an event), or with a refund created or changed on the day. Done in
 * SQL (no rows through Node, whatever the day's size); a repeat after a crash adds nothing twice.
 */
export async function listDayIntoItems(db: Database, run: ReconciliationRunRow, day: { start: Date; end: Date }): Promise<void> {
  const { start, end } = day;
  const within = (column: SQLWrapper) => sql`${column} >= ${start.toISOString()}::timestamptz and ${column} < ${end.toISOString()}::timestamptz`;
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into ${reconciliationItems} (run_id, mer_order_id)
      select ${run.id}, p.mer_order_id from ${payments} p
      where p.merchant_id = ${run.merchantId} and p.mer_order_id in (
        select ${payments.merOrderId} from ${payments} where ${within(payments.createdAt)}
        union select ${paymentEvents.merOrderId} from ${paymentEvents} where ${within(paymentEvents.at)}
        union select ${refunds.merOrderId} from ${refunds} where (${within(refunds.createdAt)}) or (${within(refunds.updatedAt)})
      )
      on conflict do nothing`);
    await tx.update(reconciliationRuns).set({ listedAt: new Date() }).where(eq(reconciliationRuns.id, run.id));
  });
}

/** Up to `limit` items not looked at yet, in id order. */
export async function pendingItems(db: Database, runId: string, limit: number): Promise<string[]> {
  const rows = await db
    .select({ merOrderId: reconciliationItems.merOrderId })
    .from(reconciliationItems)
    .where(and(eq(reconciliationItems.runId, runId), isNull(reconciliationItems.kind)))
    .orderBy(asc(reconciliationItems.merOrderId))
    .limit(limit);
  return rows.map((r) => r.merOrderId);
}

/** Records what one payment was found to be; an item already classified is left as it is. */
export async function recordItem(db: Database, runId: string, merOrderId: string, found: Classified): Promise<void> {
  await db
    .update(reconciliationItems)
    .set({ ...found, checkedAt: new Date() })
    .where(and(eq(reconciliationItems.runId, runId), eq(reconciliationItems.merOrderId, merOrderId), isNull(reconciliationItems.kind)));
}

/** Extends `owner`'s hold on a running run; false when it holds it no longer (taken over, finished). */
export async function renewLease(db: Database, runId: string, owner: string, leaseMs: number): Promise<boolean> {
  const rows = await db
    .update(reconciliationRuns)
    .set({ leaseUntil: leaseEnd(leaseMs) })
    .where(and(eq(reconciliationRuns.id, runId), eq(reconciliationRuns.leaseOwner, owner), eq(reconciliationRuns.status, 'RUNNING')))
    .returning({ id: reconciliationRuns.id });
  return rows.length > 0;
}

/** Lets go of a run on a graceful stop, so another instance takes it up without waiting for the lease. */
export async function releaseLease(db: Database, runId: string, owner: string): Promise<void> {
  await db
    .update(reconciliationRuns)
    .set({ leaseUntil: sql`now()` })
    .where(and(eq(reconciliationRuns.id, runId), eq(reconciliationRuns.leaseOwner, owner), eq(reconciliationRuns.status, 'RUNNING')));
}

/** Takes one RUNNING run whose lease ran out (its instance died or stopped), oldest first. */
export async function claimAbandoned(db: Database, owner: string, leaseMs: number): Promise<ReconciliationRunRow | undefined> {
  return db.transaction(async (tx) => {
    const [free] = await tx
      .select({ id: reconciliationRuns.id })
      .from(reconciliationRuns)
      .where(and(eq(reconciliationRuns.status, 'RUNNING'), sql`(${reconciliationRuns.leaseUntil} is null or ${reconciliationRuns.leaseUntil} <= now())`))
      .orderBy(asc(reconciliationRuns.startedAt))
      .limit(1)
      .for('update', { skipLocked: true });
    if (!free) return undefined;
    const [row] = await tx
      .update(reconciliationRuns)
      .set({ leaseOwner: owner, leaseUntil: leaseEnd(leaseMs) })
      .where(eq(reconciliationRuns.id, free.id))
      .returning();
    return row;
  });
}

export async function finishRun(db: Database, runId: string, owner: string, outcome: { status: 'DONE' | 'FAILED'; error?: string }): Promise<void> {
  await db
    .update(reconciliationRuns)
    .set({ status: outcome.status, error: outcome.error ?? null, finishedAt: new Date(), leaseUntil: null })
    .where(and(eq(reconciliationRuns.id, runId), eq(reconciliationRuns.leaseOwner, owner), eq(reconciliationRuns.status, 'RUNNING')));
}

export async function dailyRunExists(db: Database, date: string, merchantId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: reconciliationRuns.id })
    .from(reconciliationRuns)
    .where(and(eq(reconciliationRuns.date, date), eq(reconciliationRuns.merchantId, merchantId), eq(reconciliationRuns.trigger, 'daily')));
  return row !== undefined;
}

// Reads -------------------------------------------------------------------------------------

export async function findRun(db: Database, id: string): Promise<ReconciliationRunRow | undefined> {
  const [row] = await db.select().from(reconciliationRuns).where(eq(reconciliationRuns.id, id));
  return row;
}

/** Newest first; only `merchantId`'s when given. */
export async function listRuns(db: Database, first: number, merchantId?: string): Promise<ReconciliationRunRow[]> {
  return db
    .select()
    .from(reconciliationRuns)
    .where(merchantId === undefined ? undefined : eq(reconciliationRuns.merchantId, merchantId))
    .orderBy(desc(reconciliationRuns.startedAt), desc(reconciliationRuns.id))
    .limit(first);
}

export interface RunSums {
  counts: Record<ReconciliationKind, number>;
  totals: { paid: number; refunded: number; umsPaid: number; umsRefunded: number };
}

/** Counts by kind and totals in fen, summed from the items (so a resumed run never counts one twice). */
export async function runSums(db: Database, runId: string): Promise<RunSums> {
  const rows = await db
    .select({
      kind: reconciliationItems.kind,
      n: sql<number>`count(*)::int`,
      paid: sql<number>`coalesce(sum(${reconciliationItems.oursPaid}), 0)::bigint`,
      refunded: sql<number>`coalesce(sum(${reconciliationItems.oursRefunded}), 0)::bigint`,
      umsPaid: sql<number>`coalesce(sum(${reconciliationItems.umsPaid}), 0)::bigint`,
      umsRefunded: sql<number>`coalesce(sum(${reconciliationItems.umsRefunded}), 0)::bigint`,
    })
    .from(reconciliationItems)
    .where(eq(reconciliationItems.runId, runId))
    .groupBy(reconciliationItems.kind);
  const counts: Record<ReconciliationKind, number> = { MATCHED: 0, CORRECTED: 0, MISSING_AT_UMS: 0, STATUS_MISMATCH: 0, AMOUNT_MISMATCH: 0, ERROR: 0 };
  const totals = { paid: 0, refunded: 0, umsPaid: 0, umsRefunded: 0 };
  for (const row of rows) {
    if (row.kind === null) continue;
    counts[row.kind as ReconciliationKind] = Number(row.n);
    totals.paid += Number(row.paid);
    totals.refunded += Number(row.refunded);
    totals.umsPaid += Number(row.umsPaid);
    totals.umsRefunded += Number(row.umsRefunded);
  }
  return { counts, totals };
}

/** The run's classified items, by merOrderId; only `kind`'s when given. */
export async function runItems(db: Database, runId: string, kind: ReconciliationKind | undefined, first: number): Promise<ReconciliationItemRow[]> {
  return db
    .select()
    .from(reconciliationItems)
    .where(and(eq(reconciliationItems.runId, runId), kind === undefined ? sql`${reconciliationItems.kind} is not null` : eq(reconciliationItems.kind, kind)))
    .orderBy(asc(reconciliationItems.merOrderId))
    .limit(first);
}
