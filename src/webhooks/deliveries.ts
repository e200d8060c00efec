/**
 * The delivery queue in webhook_deliveries, one row per attempt (schema.ts): dispatch (new PENDING
 * rows for the feed's events), claim (FOR UPDATE SKIP LOCKED, with a lease so a killed instance's
 * claim expires, and at most `perEndpoint` attempts in flight per endpoint across instances, so a
 * slow endpoint holds only its own slots), settle (the outcomes, and the next attempts on the
 * schedule, in the transaction of the next claim), resend, list.
 */
import { and, desc, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { paymentEvents, webhookDeliveries, webhookEndpoints, type PaymentEventRow, type WebhookDeliveryRow, type WebhookEndpointRow } from '../db/schema.js';
import { eventTypeOf } from './payload.js';
import { query, WEBHOOK_CHANNEL } from './rows.js';

export type DeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'RETRYING' | 'FAILED';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['PENDING', 'SUCCEEDED', 'RETRYING', 'FAILED'];

/** An endpoint as the dispatcher matches events against it. */
export type DispatchTarget = Pick<WebhookEndpointRow, 'id' | 'merchantId' | 'events' | 'feedFrom'>;

/** Whether `endpoint` gets `event`: its merchant (or gateway-wide), its types, and created before the event's transaction. */
export function wants(endpoint: DispatchTarget, event: PaymentEventRow): boolean {
  if (endpoint.merchantId !== null && endpoint.merchantId !== event.merchantId) return false;
  if (endpoint.events.length > 0 && !endpoint.events.includes(eventTypeOf(event))) return false;
  return BigInt(event.txId) >= BigInt(endpoint.feedFrom);
}

/** First attempts (PENDING, due now) of each event for each endpoint that wants it; idempotent. */
export async function enqueue(tx: Database, events: readonly PaymentEventRow[], endpoints: readonly DispatchTarget[]): Promise<number> {
  const now = new Date();
  const values = events.flatMap((event) =>
    endpoints.filter((endpoint) => wants(endpoint, event)).map((endpoint) => ({ eventId: event.id, endpointId: endpoint.id, eventType: eventTypeOf(event), attempt: 1, status: 'PENDING', dueAt: now, at: now })),
  );
  if (values.length === 0) return 0;
  const inserted = await tx.insert(webhookDeliveries).values(values).onConflictDoNothing().returning({ id: webhookDeliveries.id });
  if (inserted.length > 0) await tx.execute(sql`select pg_notify(${WEBHOOK_CHANNEL}, 'deliveries')`);
  return inserted.length;
}

/** A claimed attempt with what sending it needs. */
export interface ClaimedAttempt {
  delivery: Pick<WebhookDeliveryRow, 'id' | 'eventId' | 'endpointId' | 'attempt'>;
  endpoint: Pick<WebhookEndpointRow, 'url' | 'secret' | 'previousSecret' | 'rotatedAt'>;
  event: PaymentEventRow;
}

interface ClaimedRow extends Record<string, unknown> {
  id: string | number;
}

/** What a claim may take: at most `limit` attempts, within the per-endpoint and per-merchant caps. */
export interface ClaimLimits {
  limit: number;
  perEndpoint: number;
  leaseMs: number;
  perMerchant: number;
}

/**
 * Claims up to `limit` due attempts for `owner` until now + leaseMs. Per enabled endpoint at most
 * `perEndpoint` minus those already in flight (on any instance), and per merchant (gateway-wide
 * endpoints count as one more merchant) at most `perMerchant` minus its attempts in flight, oldest
 * due first: one merchant's hanging endpoints cannot hold every slot.
 */
export async function claim(db: Database, owner: string, limit: number, perEndpoint: number, leaseMs: number, perMerchant = 8): Promise<ClaimedAttempt[]> {
  if (limit <= 0) return [];
  return db.transaction((tx) => claimIn(tx, owner, { limit, perEndpoint, leaseMs, perMerchant }));
}

/** The claim, inside a transaction the caller commits (its lease counts once committed). */
async function claimIn(tx: Database, owner: string, limits: ClaimLimits): Promise<ClaimedAttempt[]> {
  const claimed = (await query<ClaimedRow>(tx, claimStatement(owner, limits))).map((r) => Number(r.id));
  if (claimed.length === 0) return [];
  const rows = await tx
    .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints, event: paymentEvents })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .innerJoin(paymentEvents, eq(paymentEvents.id, webhookDeliveries.eventId))
    .where(sql`${webhookDeliveries.id} in (${sql.join(claimed.map((id) => sql`${id}`), sql`, `)})`);
  return rows.map((r) => ({ delivery: r.delivery, endpoint: r.endpoint, event: r.event }));
}

/**
 * The claim's statement (exported so a test can EXPLAIN it). It reads only what it needs: the
 * due attempts of each endpoint in order (endpoint_due_idx, stopping at the cap) and the
 * attempts in flight (in_flight_idx), then updates the picked rows by primary key. Never the
 * queue's whole length, nor the table's history of recorded attempts, which only grows.
 */
export function claimStatement(owner: string, { limit, perEndpoint, leaseMs, perMerchant }: ClaimLimits): SQL {
  return sql`
    with candidates as (
      select d.id, d.due_at, coalesce(w.merchant_id, '') as merchant from webhook_endpoints w
      cross join lateral (
        select d.id, d.due_at from webhook_deliveries d
        where d.endpoint_id = w.id and d.status = 'PENDING' and d.due_at <= now()
          and (d.claimed_until is null or d.claimed_until < now())
        order by d.due_at, d.id
        limit greatest(0, ${perEndpoint}::int - (
          select count(*)::int from webhook_deliveries f
          where f.endpoint_id = w.id and f.status = 'PENDING' and f.claimed_until >= now()))
        for update of d skip locked) d
      where w.enabled),
    ranked as (
      select c.id, c.due_at,
        row_number() over (partition by c.merchant order by c.due_at, c.id) as n,
        (select count(*)::int from webhook_deliveries f join webhook_endpoints fw on fw.id = f.endpoint_id
          where coalesce(fw.merchant_id, '') = c.merchant and f.status = 'PENDING' and f.claimed_until >= now()) as busy
      from candidates c),
    picked as (
      select id from ranked where n <= ${perMerchant}::int - busy
      order by due_at, id
      limit ${limit}::int)
    update webhook_deliveries set claimed_until = now() + ${leaseMs}::int * interval '1 millisecond', claimed_by = ${owner}
    where webhook_deliveries.id = any(array(select id from picked))
    returning webhook_deliveries.id`;
}

/** What one attempt came to. */
export interface AttemptOutcome {
  ok: boolean;
  httpStatus: number | null;
  durationMs: number;
  error: string | null;
}

/** An attempt that was made, waiting to be recorded. */
export interface SettledAttempt {
  delivery: ClaimedAttempt['delivery'];
  outcome: AttemptOutcome;
}

/**
 * Records the outcomes of attempts that were made and claims the next ones, in one transaction:
 * a delivery costs a share of one commit instead of two commits of its own (the commit's WAL
 * flush is most of a delivery's time against a fast receiver). Answers the status written for
 * each settled attempt (absent: its claim had been lost) and the attempts claimed.
 */
export async function settleAndClaim(
  db: Database,
  owner: string,
  settled: readonly SettledAttempt[],
  schedule: readonly number[],
  limits: ClaimLimits,
): Promise<{ statuses: Map<number, DeliveryStatus>; claimed: ClaimedAttempt[] }> {
  if (settled.length === 0 && limits.limit <= 0) return { statuses: new Map(), claimed: [] };
  return db.transaction(async (tx) => {
    const statuses = settled.length > 0 ? await settleIn(tx, owner, settled, schedule) : new Map<number, DeliveryStatus>();
    // After the settle, in the same transaction: the attempts just recorded no longer count as in flight.
    const claimed = limits.limit > 0 ? await claimIn(tx, owner, limits) : [];
    return { statuses, claimed };
  });
}

/**
 * One statement for every settled attempt: its outcome (only while `owner` still holds it) and,
 * after a failure, the next attempt after schedule[attempt - 1]; past the schedule's end the
 * delivery is FAILED.
 */
async function settleIn(tx: Database, owner: string, settled: readonly SettledAttempt[], schedule: readonly number[]): Promise<Map<number, DeliveryStatus>> {
  const now = new Date();
  const outcomes = settled.map(({ delivery, outcome }) => {
    const delay = schedule[delivery.attempt - 1];
    const status: DeliveryStatus = outcome.ok ? 'SUCCEEDED' : delay === undefined ? 'FAILED' : 'RETRYING';
    const next = status === 'RETRYING' && delay !== undefined ? new Date(now.getTime() + delay).toISOString() : null;
    return { id: delivery.id, status, http_status: outcome.httpStatus, duration_ms: outcome.durationMs, error: outcome.error, next_attempt_at: next };
  });
  const rows = await query<{ id: string | number; status: string }>(
    tx,
    sql`
    with outcome as (
      select * from jsonb_to_recordset(${JSON.stringify(outcomes)}::jsonb)
        as o(id bigint, status text, http_status int, duration_ms int, error text, next_attempt_at timestamptz)),
    done as (
      update webhook_deliveries d
      set status = o.status, http_status = o.http_status, duration_ms = o.duration_ms, error = o.error,
        at = ${now.toISOString()}::timestamptz, next_attempt_at = o.next_attempt_at, claimed_until = null
      from outcome o
      where d.id = o.id and d.claimed_by = ${owner} and d.status = 'PENDING'
      returning d.id, d.event_id, d.endpoint_id, d.event_type, d.attempt, o.status, o.next_attempt_at),
    retry as (
      insert into webhook_deliveries (event_id, endpoint_id, event_type, attempt, status, due_at, at)
      select event_id, endpoint_id, event_type, attempt + 1, 'PENDING', next_attempt_at, next_attempt_at
      from done where next_attempt_at is not null
      on conflict do nothing)
    select id, status from done`,
  );
  return new Map(rows.map((r) => [Number(r.id), r.status as DeliveryStatus]));
}

/** A new attempt of `eventId` to each endpoint given, due now (resendWebhookEvent). */
export async function resend(db: Database, event: PaymentEventRow, endpointIds: readonly string[]): Promise<number> {
  if (endpointIds.length === 0) return 0;
  return db.transaction(async (tx) => {
    let queued = 0;
    const now = new Date();
    for (const endpointId of endpointIds) {
      const [last] = await tx
        .select({ attempt: webhookDeliveries.attempt })
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.eventId, event.id), eq(webhookDeliveries.endpointId, endpointId)))
        .orderBy(desc(webhookDeliveries.attempt))
        .limit(1);
      const inserted = await tx
        .insert(webhookDeliveries)
        .values({ eventId: event.id, endpointId, eventType: eventTypeOf(event), attempt: (last?.attempt ?? 0) + 1, status: 'PENDING', dueAt: now, at: now })
        .onConflictDoNothing()
        .returning({ id: webhookDeliveries.id });
      queued += inserted.length;
    }
    if (queued > 0) await tx.execute(sql`select pg_notify(${WEBHOOK_CHANNEL}, 'deliveries')`);
    return queued;
  });
}

export interface DeliveryFilter {
  endpointIds?: readonly string[];
  eventId?: number;
  status?: DeliveryStatus;
  /** Only ids below this (newest first paging). */
  beforeId?: number;
  first: number;
}

/** Attempts, newest first. */
export async function listDeliveries(db: Database, filter: DeliveryFilter): Promise<{ rows: WebhookDeliveryRow[]; hasMore: boolean }> {
  const conditions: SQL[] = [];
  if (filter.endpointIds !== undefined) {
    if (filter.endpointIds.length === 0) return { rows: [], hasMore: false };
    conditions.push(sql`${webhookDeliveries.endpointId} in (${sql.join(filter.endpointIds.map((id) => sql`${id}`), sql`, `)})`);
  }
  if (filter.eventId !== undefined) conditions.push(eq(webhookDeliveries.eventId, filter.eventId));
  if (filter.status !== undefined) conditions.push(eq(webhookDeliveries.status, filter.status));
  if (filter.beforeId !== undefined) conditions.push(lt(webhookDeliveries.id, filter.beforeId));
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(webhookDeliveries.id))
    .limit(filter.first + 1);
  return { rows: rows.slice(0, filter.first), hasMore: rows.length > filter.first };
}

/** Queue depth and the age of the oldest attempt due (metrics). */
export async function queueStats(db: Database): Promise<{ pending: number; oldestDueAgeSeconds: number }> {
  const [row] = await query<{ pending: number | string; oldest: number | string | null }>(
    db,
    sql`select count(*)::int as pending, extract(epoch from now() - min(due_at) filter (where due_at <= now()))::float8 as oldest
        from webhook_deliveries where status = 'PENDING'`,
  );
  return { pending: Number(row?.pending ?? 0), oldestDueAgeSeconds: row?.oldest === null || row?.oldest === undefined ? 0 : Math.max(0, Number(row.oldest)) };
}

/** When the next PENDING attempt falls due (to sleep until then); undefined: none. */
export async function nextDueAt(db: Database): Promise<Date | undefined> {
  const [row] = await db
    .select({ due: sql<Date | string | null>`min(${webhookDeliveries.dueAt})` })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.status, 'PENDING'));
  if (!row?.due) return undefined;
  return row.due instanceof Date ? row.due : new Date(row.due);
}
