/**
 * Figure 3: subscription fan-out and the memory an idle subscription costs (README.md, "3.").
 *
 * Gateway: graphql-ws subscribers of `paymentStatusChanged(mid)` (a merchant dashboard); a signed
 * notification is POSTed to /notify/ums of one instance; each subscriber's delay runs from just
 * before the POST to the arrival of the change (store → commit → NOTIFY → bus read → GraphQL
 * execution → send). Baseline (CONTRACT.md: "a bare graphql-ws server"): graphql-ws's own
 * `useServer` on node:http + ws, the same store, the row NOTIFYed to every instance
 * (baselines/graphql-ws-baseline.ts).
 *
 * The subscribers live in forked load-generator processes (subscriber-role.ts), each holding its
 * share of the sockets and timestamping arrivals on the machine-wide monotonic clock, so that
 * 10,000 sockets are not read by one event loop whose queue would be in every figure.
 *
 * Phases, each side in turn and rounds alternating gateway / baseline (alternate.ts says why):
 * 1. memory: after forced GC, heap used + external before and after 1,000, 5,000 and 10,000 idle
 *    subscriptions on one instance, divided by the count (RSS in the notes);
 * 2. fan-out to 10,000 on that instance;
 * 3. fan-out to 1,000 on that instance (p50, p99, max);
 * 4. fan-out to 1,000 across two instances on one Postgres: 500 on each, the notification stored
 *    through the first (Postgres only: embedded PGlite cannot be shared).
 */
import { loadConfig } from '../src/config.js';
import { BenchChild } from './children.js';
import { figure, spec, type BenchContext, type FigureResult } from './figure.js';
import type { ChildRole, MemorySample } from './ipc.js';
import { FORM, paidNotification } from './notifications.js';
import { median, percentile, sleep, until } from './stats.js';
import { clockMs } from './subscriber-role.js';
import { SubscriberPool } from './subscribers.js';

const MEMORY_AT = [1000, 5000, 10_000] as const;
const MANY = 10_000;
const ONE = 1000;
const WARMUP_ROUNDS = 3;
/** Load-generator processes; the sockets of both sides are spread over them. */
const LOAD_PROCESSES = 4;
const ROUNDS = { many: 8, one: 20, two: 20 } as const;

interface Receipts {
  delays: number[];
  lasts: number[];
  /** The delays of the second instance's subscribers alone (across two instances). */
  second: number[];
}

const receipts = (): Receipts => ({ delays: [], lasts: [], second: [] });

interface Side {
  name: 'gateway' | 'baseline';
  /** The instance notifications are POSTed to, and the second one on the same database (if any). */
  first: BenchChild;
  second: BenchChild | undefined;
  prefix: string;
  next: number;
  memory: { count: number; rssKb: number; heapKb: number }[];
  many: Receipts;
  one: Receipts;
  two: Receipts;
}

const perSubscription = (after: MemorySample, before: MemorySample, count: number) => ({
  count,
  rssKb: (after.rss - before.rss) / count / 1024,
  heapKb: (after.heapUsed + after.external - before.heapUsed - before.external) / count / 1024,
});

async function waitForSubscriptions(child: BenchChild, count: number): Promise<void> {
  await until(`${count} subscriptions on ${child.role}`, async () => (await child.call<number>('subscriptions')) === count, 60_000);
}

export async function fanoutFigures(context: BenchContext): Promise<FigureResult[]> {
  const mid = loadConfig({}).umsMid;
  const shared = context.database.url !== undefined;
  const poolSize = WARMUP_ROUNDS * 8 + ROUNDS.many + ROUNDS.one + ROUNDS.two + 10;
  const children: BenchChild[] = [];
  let pool: SubscriberPool | undefined;
  const start = async (role: ChildRole) => {
    const child = await BenchChild.start(spec(context, role));
    children.push(child);
    return child;
  };
  const sides: Side[] = [];
  try {
    // One at a time: the baselines create their table on start.
    for (const [name, role] of [['gateway', 'gateway'], ['baseline', 'graphql-ws-baseline']] as const) {
      const first = await start(role);
      const second = shared ? await start(role) : undefined;
      const prefix = `3194${context.runTag}${name === 'gateway' ? 'F' : 'FB'}`;
      await first.call('seed', { prefix, count: poolSize });
      sides.push({ name, first, second, prefix, next: 0, memory: [], many: receipts(), one: receipts(), two: receipts() });
    }
    const subscribers = (pool = await SubscriberPool.start(context, LOAD_PROCESSES));
    const urls = (side: Side) => [side.first.url, ...(side.second ? [side.second.url] : [])];

    const round = async (side: Side, into?: Receipts): Promise<void> => {
      const n = side.next++;
      const id = `${side.prefix}${n}`;
      const got = await subscribers.receipts(urls(side), id, async () => {
        const response = await fetch(`${side.first.url}/notify/ums`, { method: 'POST', headers: { 'content-type': FORM }, body: paidNotification(id, `${side.prefix}-n${n}`) });
        const text = await response.text();
        if (text !== 'SUCCESS') throw new Error(`notification ${id} answered ${response.status} ${text}`);
      });
      if (!into) return;
      const all = [...got.values()].flat();
      into.delays.push(...all);
      into.lasts.push(all.reduce((a, b) => Math.max(a, b), 0));
      if (side.second && got.get(side.second.url)?.length) into.second.push(...(got.get(side.second.url) as number[]));
    };
    const open = async (child: BenchChild, n: number, total: number) => {
      await subscribers.open(child.url, 'graphql-ws', mid, n);
      await waitForSubscriptions(child, total);
    };
    const close = async (child: BenchChild, n: number, left: number) => {
      await subscribers.close(child.url, n);
      await waitForSubscriptions(child, left);
    };
    /** Warm-up rounds on each side, then `rounds` alternating measured ones. */
    const measure = async (label: string, rounds: number, pick: (side: Side) => Receipts) => {
      for (const side of sides) for (let i = 0; i < WARMUP_ROUNDS; i++) await round(side);
      const from = clockMs();
      for (let i = 0; i < rounds; i++) {
        for (const side of sides) {
          await round(side, pick(side));
          await sleep(50);
        }
      }
      // The measured window on the monotonic clock, which --cpu-prof's timestamps also use: a
      // profile can be cut to it (bench/README.md, "Profiles").
      if (process.env.BENCH_PROFILE === '1') context.log(`fan-out ${label}: measured window ${from.toFixed(0)}-${clockMs().toFixed(0)} ms (monotonic)`);
    };

    // Warm the code paths (first subscription, first fan-out, both instances) before the memory baseline.
    for (const side of sides) {
      for (const child of [side.first, side.second]) if (child) await open(child, 20, 20);
      for (let i = 0; i < WARMUP_ROUNDS; i++) await round(side);
      for (const child of [side.first, side.second]) if (child) await close(child, 20, 0);
    }

    // 1. Memory, on the first instance of each side.
    for (const side of sides) {
      const before = await side.first.memory();
      let opened = 0;
      for (const count of MEMORY_AT) {
        await open(side.first, count - opened, count);
        opened = count;
        await sleep(300);
        side.memory.push(perSubscription(await side.first.memory(), before, count));
      }
      context.log(`fan-out ${side.name}: memory per idle subscription ${side.memory.map((m) => `${m.count}: ${m.rssKb.toFixed(1)} KB RSS, ${m.heapKb.toFixed(1)} KB heap`).join('; ')}`);
    }

    // 2. Fan-out to 10,000 (all open now).
    await measure(`to ${MANY}`, ROUNDS.many, (side) => side.many);
    // 3. Fan-out to 1,000 on one instance.
    for (const side of sides) await close(side.first, MANY - ONE, ONE);
    await measure(`to ${ONE}`, ROUNDS.one, (side) => side.one);
    // 4. Across two instances: half of the subscribers move to the second.
    if (shared) {
      for (const side of sides) {
        const second = side.second as BenchChild;
        await close(side.first, ONE / 2, ONE / 2);
        await open(second, ONE / 2, ONE / 2);
      }
      await measure(`to ${ONE} across two instances`, ROUNDS.two, (side) => side.two);
    } else {
      context.log('fan-out across two instances: skipped (embedded PGlite; set TEST_DATABASE_URL)');
    }
    for (const side of sides) {
      for (const [label, r] of [[`${MANY}`, side.many], [`${ONE}`, side.one], [`${ONE} across two instances`, side.two]] as const) {
        if (r.delays.length === 0) continue;
        context.log(
          `fan-out ${side.name} to ${label}: ${r.delays.length} receipts over ${r.lasts.length} rounds: p50 ${percentile(r.delays, 0.5).toFixed(1)} ms, p99 ${percentile(r.delays, 0.99).toFixed(1)} ms, max ${max(r.delays).toFixed(1)} ms, last receipt median ${median(r.lasts).toFixed(1)} ms${r.second.length ? `; second instance's subscribers: p50 ${percentile(r.second, 0.5).toFixed(1)} ms, p99 ${percentile(r.second, 0.99).toFixed(1)} ms` : ''}`,
        );
      }
    }
  } finally {
    await pool?.stop();
    for (const child of children) await child.stop();
  }
  return report(sides);
}

function max(values: readonly number[]): number {
  return values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
}

function report(sides: Side[]): FigureResult[] {
  const [gw, base] = sides as [Side, Side];
  const baseline = 'a bare graphql-ws server (useServer, graphql-js, in-memory pub/sub): the same store, the row NOTIFYed to every instance';
  const stat = (r: Receipts, q: number) => (q === 1 ? max(r.delays) : percentile(r.delays, q));
  const notes = (count: string, g: Receipts, b: Receipts) =>
    `${count} subscribers × ${g.lasts.length} rounds, subscribers in ${LOAD_PROCESSES} load-generator processes; p50 ${stat(g, 0.5).toFixed(1)} ms (baseline ${stat(b, 0.5).toFixed(1)}), max ${stat(g, 1).toFixed(1)} ms (baseline ${stat(b, 1).toFixed(1)}); time to last receipt per round: median ${median(g.lasts).toFixed(1)} ms (baseline ${median(b.lasts).toFixed(1)} ms)`;
  const results: FigureResult[] = [
    figure({ name: `fan-out to ${ONE}: p50`, value: stat(gw.one, 0.5), unit: 'ms', baseline, baselineValue: stat(base.one, 0.5), notes: notes(`${ONE} (one instance)`, gw.one, base.one) }),
    figure({ name: `fan-out to ${ONE}: p99`, value: stat(gw.one, 0.99), unit: 'ms', baseline, baselineValue: stat(base.one, 0.99), target: '≤ 100 ms', met: stat(gw.one, 0.99) <= 100 }),
    figure({ name: `fan-out to ${ONE}: max`, value: stat(gw.one, 1), unit: 'ms', baseline, baselineValue: stat(base.one, 1) }),
  ];
  if (gw.two.delays.length > 0) {
    const value = stat(gw.two, 0.99);
    results.push(
      figure({
        name: `fan-out to ${ONE} across two instances: p99`,
        value,
        unit: 'ms',
        baseline,
        baselineValue: stat(base.two, 0.99),
        target: '≤ 50 ms',
        met: value <= 50,
        notes: `${notes(`${ONE / 2} + ${ONE / 2}`, gw.two, base.two)}; the second instance's subscribers alone: p99 ${percentile(gw.two.second, 0.99).toFixed(1)} ms (baseline ${percentile(base.two.second, 0.99).toFixed(1)} ms)`,
      }),
    );
  }
  const many = stat(gw.many, 0.99);
  results.push(figure({ name: `fan-out to ${MANY}: p99`, value: many, unit: 'ms', baseline, baselineValue: stat(base.many, 0.99), target: '≤ 250 ms', met: many <= 250, notes: notes(`${MANY} (one instance)`, gw.many, base.many) }));
  for (const [i, count] of MEMORY_AT.entries()) {
    const g = gw.memory[i];
    const b = base.memory[i];
    if (!g || !b) continue;
    results.push(
      figure({
        name: `memory per idle subscription at ${count}`,
        value: g.heapKb,
        unit: 'KB',
        baseline: 'an idle subscription on the bare graphql-ws server (same process layout)',
        baselineValue: b.heapKb,
        ...(count === MANY ? { target: '≤ 30 KB', met: g.heapKb <= 30 } : {}),
        notes: `V8 heap used + external after forced GC, per subscription; RSS delta ${g.rssKb.toFixed(1)} KB (baseline ${b.rssKb.toFixed(1)} KB), noisier because freed pages stay mapped`,
      }),
    );
  }
  return results;
}
