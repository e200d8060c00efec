/**
 * The workers' one transaction: outcomes of the attempts made are recorded and the next attempts
 * claimed together (one commit per round of claims), and the claim reads only what it needs —
 * never the whole queue nor the table's history of recorded attempts, which only grows.
 */
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { webhookDeliveries, webhookEndpoints } from '../../src/db/schema.js';
import { SecretBox } from '../../src/merchants/secret-box.js';
import { insertNewOrder } from '../../src/payments/ledger.js';
import { claim, claimStatement, settleAndClaim } from '../../src/webhooks/deliveries.js';
import { WebhookEndpoints } from '../../src/webhooks/endpoints.js';
import { WebhookEngine } from '../../src/webhooks/engine.js';
import { WebhookSender } from '../../src/webhooks/sender.js';
import { InProcessBus } from '../../src/events/bus.js';
import { pino } from 'pino';
import type { Database } from '../../src/db/database.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';

const LIMITS = { limit: 16, perEndpoint: 4, leaseMs: 60_000, perMerchant: 8 };
const OK = { ok: true, httpStatus: 200, durationMs: 3, error: null };
const DOWN = { ok: false, httpStatus: 503, durationMs: 3, error: 'HTTP 503' };

interface PlanNode {
  'Relation Name'?: string;
  'Node Type'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows of webhook_deliveries a plan read: returned by its scans plus those they filtered out. */
function deliveryRowsRead(node: PlanNode): number {
  let rows = 0;
  if (node['Relation Name'] === 'webhook_deliveries' && /Scan/.test(node['Node Type'] ?? '')) {
    rows += ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * (node['Actual Loops'] ?? 1);
  }
  for (const child of node.Plans ?? []) rows += deliveryRowsRead(child);
  return rows;
}

describeEachDatabase('webhook workers: settle and claim', (kind) => {
  let h: TestDatabase;
  let endpointId: string;
  let eventIds: number[];

  beforeAll(async () => {
    h = await kind.open();
    eventIds = [];
    for (let i = 0; i < 10; i += 1) eventIds.push((await insertNewOrder(h.db, { merOrderId: `settle${Date.now()}${i}`, totalAmount: 1, mid: 'm', tid: 't', channel: 'QR_CODE' })).event.id);
  });
  afterAll(() => h?.close());

  beforeEach(async () => {
    await h.db.delete(webhookDeliveries);
    await h.db.delete(webhookEndpoints);
    endpointId = (await new WebhookEndpoints(h.db, new SecretBox(randomBytes(32))).create({ url: 'https://hooks.example.com/a', events: [], merchantId: null, description: null })).row.id;
  });

  /** `count` attempts of one event to the endpoint, numbered from `from`. */
  async function attempts(eventId: number, from: number, count: number, status: string): Promise<void> {
    const due = new Date(Date.now() - 1000);
    await h.db.execute(sql`
      insert into webhook_deliveries (event_id, endpoint_id, event_type, attempt, status, due_at, at)
      select ${eventId}, ${endpointId}, 'PAYMENT_STATUS_CHANGED', n, ${status}, ${due.toISOString()}::timestamptz, ${due.toISOString()}::timestamptz
      from generate_series(${from}::int, ${from + count - 1}::int) n`);
  }

  it('records what was made and claims into the slots it frees, in one call; a lost claim is not recorded', async () => {
    // Eight events' first attempts, due.
    for (const eventId of eventIds.slice(2, 10)) await attempts(eventId, 1, 1, 'PENDING');
    const first = await claim(h.db, 'me', 16, 4, 60_000);
    expect(first).toHaveLength(4);
    // One of the four was taken over meanwhile (its lease expired and another instance claimed it).
    const lost = first[3]!.delivery;
    await h.db.update(webhookDeliveries).set({ claimedBy: 'another' }).where(eq(webhookDeliveries.id, lost.id));

    const settled = [
      { delivery: first[0]!.delivery, outcome: OK },
      { delivery: first[1]!.delivery, outcome: DOWN },
      { delivery: lost, outcome: OK },
    ];
    const { statuses, claimed } = await settleAndClaim(h.db, 'me', settled, [5_000], LIMITS);

    expect(statuses.get(first[0]!.delivery.id)).toBe('SUCCEEDED');
    expect(statuses.get(first[1]!.delivery.id)).toBe('RETRYING');
    expect(statuses.has(lost.id)).toBe(false);
    // Two slots freed by the two recorded: claimed in the same transaction (the cap is 4; the
    // third and the lost one are still in flight).
    expect(claimed).toHaveLength(2);
    expect(claimed.map((c) => c.event.id).sort()).toEqual(eventIds.slice(6, 8).sort());
    expect(claimed.every((c) => c.endpoint.url === 'https://hooks.example.com/a' && c.delivery.attempt === 1)).toBe(true);

    const row = async (id: number) => (await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)))[0];
    expect(await row(first[0]!.delivery.id)).toMatchObject({ status: 'SUCCEEDED', httpStatus: 200, claimedUntil: null });
    expect(await row(first[1]!.delivery.id)).toMatchObject({ status: 'RETRYING', httpStatus: 503, error: 'HTTP 503' });
    expect(await row(lost.id)).toMatchObject({ status: 'PENDING', claimedBy: 'another' });
    // The retry of the failed one is queued as its attempt 2, due after the schedule's 5 s.
    const [retry] = await h.db.select().from(webhookDeliveries).where(sql`${webhookDeliveries.eventId} = ${first[1]!.delivery.eventId} and ${webhookDeliveries.attempt} = 2`);
    expect(retry).toMatchObject({ status: 'PENDING', claimedBy: null });
    expect(retry!.dueAt.getTime()).toBeGreaterThan(Date.now() + 3_000);
  });

  it('past the schedule an attempt is FAILED and nothing more is queued; with no free slot nothing is claimed', async () => {
    await attempts(eventIds[1]!, 1, 1, 'PENDING');
    await attempts(eventIds[0]!, 1, 1, 'PENDING');
    const [only] = await claim(h.db, 'me', 1, 4, 60_000);
    const { statuses, claimed } = await settleAndClaim(h.db, 'me', [{ delivery: only!.delivery, outcome: DOWN }], [], { ...LIMITS, limit: 0 });
    expect(statuses.get(only!.delivery.id)).toBe('FAILED');
    expect(claimed).toHaveLength(0);
    const rows = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, only!.delivery.eventId));
    expect(rows.map((r) => `${r.attempt}:${r.status}`)).toEqual(['1:FAILED']);
  });

  it('a worker round whose database read fails is logged, not left as an unhandled rejection', async () => {
    // The claim answers (nothing due); every select after it fails, as during a database restart.
    const failing = new Proxy(h.db, {
      get(target, property, receiver) {
        if (property === 'select') {
          return () => {
            throw new Error('connection lost');
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    }) as Database;
    const logged: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => logged.push(String((JSON.parse(line) as { msg?: string }).msg)) });
    const bus = new InProcessBus();
    const sender = new WebhookSender({ allowHttp: true, allowLoopback: true, allowPrivate: false }, 1000);
    const engine = await WebhookEngine.start({ db: failing, listener: h, bus, endpoints: new WebhookEndpoints(h.db, new SecretBox(randomBytes(32))), sender, retryScheduleMs: [], timeoutMs: 1000, log, pollMs: 60_000 });
    try {
      await engine.idle();
      expect(logged).toContain('could not read when the next webhook attempt is due');
    } finally {
      await engine.close();
      await sender.close();
      await bus.close();
    }
  });

  it('a claim reads the attempts it takes and those in flight, not the queue nor the history', async () => {
    // History: 3,000 recorded attempts. Queue: 1,000 due. In flight: 2.
    await attempts(eventIds[0]!, 1, 3_000, 'SUCCEEDED');
    await attempts(eventIds[1]!, 1, 1_000, 'PENDING');
    expect(await claim(h.db, 'other', 2, 4, 60_000)).toHaveLength(2);
    await h.db.execute(sql`analyze webhook_deliveries`);

    const result: unknown = await h.db.execute(sql`explain (analyze, format json) ${claimStatement('me', LIMITS)}`);
    const rows = Array.isArray(result) ? (result as Record<string, unknown>[]) : (result as { rows: Record<string, unknown>[] }).rows;
    const plan = (rows[0]?.['QUERY PLAN'] as { Plan: PlanNode }[] | undefined)?.[0]?.Plan;
    expect(plan).toBeDefined();
    // 2 more to reach the cap, the 2 in flight counted twice (per endpoint, per merchant), the 2
    // updated by primary key: a handful, where a scan of the queue or the table is thousands.
    expect(deliveryRowsRead(plan!)).toBeLessThan(50);
  });
});
