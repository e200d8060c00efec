/**
 * Figure 3: subscription fan-out and the memory an idle subscription costs.
 *
 * Gateway: 1,000 graphql-ws subscribers of `paymentStatusChanged(mid)`; a signed notification is
 * POSTed to /notify/ums; each subscriber's delay is from just before the POST to the arrival of
 * the change (store → commit → NOTIFY → bus read → GraphQL execution per subscriber → send).
 * Baseline: node:http + ws, the same store (form, MD5, one upsert), then one message to every open
 * socket. Rounds run one after another, alternating gateway and baseline (3 warm-up rounds each
 * first); p50/p99/max are over every receipt of the measured rounds, and "last" is each round's
 * slowest receipt. Receipts are timestamped by the driver, which handles the 1,000 messages of a
 * round on one core: that share is in both sides' figures.
 *
 * Memory: in the measured process, after forced GC, heap used + external (and RSS, in the notes)
 * before and after opening 1,000 and then 5,000 idle subscriptions (each its own WebSocket),
 * divided by the count.
 */
import { loadConfig } from '../src/config.js';
import { BenchChild } from './children.js';
import { figure, spec, type BenchContext, type FigureResult } from './figure.js';
import type { MemorySample } from './ipc.js';
import { FORM, paidNotification } from './notifications.js';
import { median, percentile, sleep, until } from './stats.js';
import { Subscribers, type SubscriberProtocol } from './subscribers.js';

const SUBSCRIBERS = 1000;
const MEMORY_AT = [1000, 5000] as const;
const WARMUP_ROUNDS = 3;

interface Side {
  delays: number[];
  lasts: number[];
  memory: { count: number; rssKb: number; heapKb: number }[];
}

const perSubscription = (after: MemorySample, before: MemorySample, count: number) => ({
  count,
  rssKb: (after.rss - before.rss) / count / 1024,
  heapKb: (after.heapUsed + after.external - before.heapUsed - before.external) / count / 1024,
});

async function waitForSubscriptions(child: BenchChild, count: number): Promise<void> {
  await until(`${count} subscriptions`, async () => (await child.call<number>('subscriptions')) === count);
}

interface Prepared {
  subscribers: Subscribers;
  memory: Side['memory'];
  /** One round: POST the next notification, resolve with each subscriber's delay. */
  round(): Promise<number[]>;
}

/** Warm-up, memory at 1,000 and 5,000, then 1,000 subscribers left open for the rounds. */
async function prepare(context: BenchContext, child: BenchChild, protocol: SubscriberProtocol, prefix: string): Promise<Prepared> {
  const mid = loadConfig({}).umsMid;
  const subscribers = new Subscribers(child.url, protocol, mid);
  let next = 0;
  const round = async (): Promise<number[]> => {
    const n = next++;
    const id = `${prefix}${n}`;
    return subscribers.receipts(id, async () => {
      const response = await fetch(`${child.url}/notify/ums`, { method: 'POST', headers: { 'content-type': FORM }, body: paidNotification(id, `${prefix}-n${n}`) });
      const text = await response.text();
      if (text !== 'SUCCESS') throw new Error(`notification ${id} answered ${response.status} ${text}`);
    });
  };

  // Warm the code paths (first subscription, first fan-out) before the memory baseline.
  await subscribers.open(20);
  await waitForSubscriptions(child, 20);
  for (let i = 0; i < WARMUP_ROUNDS; i++) await round();
  await subscribers.close();
  await waitForSubscriptions(child, 0);

  const memory: Side['memory'] = [];
  const before = await child.memory();
  let open = 0;
  for (const count of MEMORY_AT) {
    await subscribers.open(count - open);
    open = count;
    await waitForSubscriptions(child, count);
    await sleep(300);
    memory.push(perSubscription(await child.memory(), before, count));
  }
  await subscribers.close(open - SUBSCRIBERS);
  await waitForSubscriptions(child, SUBSCRIBERS);
  context.log(`fan-out ${protocol}: memory per idle subscription ${memory.map((m) => `${m.count}: ${m.rssKb.toFixed(1)} KB RSS, ${m.heapKb.toFixed(1)} KB heap`).join('; ')}`);
  for (let i = 0; i < WARMUP_ROUNDS; i++) await round();
  return { subscribers, memory, round };
}

function summary(context: BenchContext, name: string, side: Side): void {
  const { delays, lasts } = side;
  context.log(
    `fan-out ${name}: ${SUBSCRIBERS} subscribers × ${lasts.length} rounds: p50 ${percentile(delays, 0.5).toFixed(1)} ms, p99 ${percentile(delays, 0.99).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms, last receipt median ${median(lasts).toFixed(1)} ms`,
  );
}

export async function fanoutFigures(context: BenchContext): Promise<FigureResult[]> {
  const rounds = 20;
  const pool = WARMUP_ROUNDS * 2 + rounds;
  const children: BenchChild[] = [];
  const prepared: Prepared[] = [];
  const base: Side = { delays: [], lasts: [], memory: [] };
  const gw: Side = { delays: [], lasts: [], memory: [] };
  try {
    const baseChild = await BenchChild.start(spec(context, 'fanout-baseline'));
    children.push(baseChild);
    const gatewayChild = await BenchChild.start(spec(context, 'gateway'));
    children.push(gatewayChild);
    await baseChild.call('seed', { prefix: `3194${context.runTag}FB`, count: pool });
    await gatewayChild.call('seed', { prefix: `3194${context.runTag}F`, count: pool });
    const baseSide = await prepare(context, baseChild, 'raw', `3194${context.runTag}FB`);
    prepared.push(baseSide);
    const gatewaySide = await prepare(context, gatewayChild, 'graphql-ws', `3194${context.runTag}F`);
    prepared.push(gatewaySide);
    base.memory = baseSide.memory;
    gw.memory = gatewaySide.memory;
    // Rounds alternate between the two sides (see alternate.ts for why).
    for (let i = 0; i < rounds; i++) {
      for (const [side, into] of [[gatewaySide, gw], [baseSide, base]] as const) {
        const got = await side.round();
        into.delays.push(...got);
        into.lasts.push(Math.max(...got));
        await sleep(50);
      }
    }
    summary(context, 'gateway', gw);
    summary(context, 'baseline', base);
  } finally {
    for (const side of prepared) await side.subscribers.close();
    for (const child of children) await child.stop();
  }

  const baseline = 'node:http + ws: the same store, then one pre-encoded message to every open socket';
  const stat = (side: Side, q: number) => (q === 1 ? Math.max(...side.delays) : percentile(side.delays, q));
  const notes = `${SUBSCRIBERS} subscribers × ${rounds} rounds; time to last receipt per round: median ${median(gw.lasts).toFixed(1)} ms (baseline ${median(base.lasts).toFixed(1)} ms)`;
  const results: FigureResult[] = [
    figure({ name: `fan-out to ${SUBSCRIBERS}: p50`, value: stat(gw, 0.5), unit: 'ms', baseline, baselineValue: stat(base, 0.5), notes }),
    figure({ name: `fan-out to ${SUBSCRIBERS}: p99`, value: stat(gw, 0.99), unit: 'ms', baseline, baselineValue: stat(base, 0.99), target: '≤ 100 ms', met: stat(gw, 0.99) <= 100 }),
    figure({ name: `fan-out to ${SUBSCRIBERS}: max`, value: stat(gw, 1), unit: 'ms', baseline, baselineValue: stat(base, 1) }),
  ];
  for (const [i, count] of MEMORY_AT.entries()) {
    const g = gw.memory[i];
    const b = base.memory[i];
    if (!g || !b) continue;
    results.push(
      figure({
        name: `memory per idle subscription at ${count}`,
        value: g.heapKb,
        unit: 'KB',
        baseline: 'an idle ws connection in a Set (same process layout)',
        baselineValue: b.heapKb,
        notes: `V8 heap used + external after forced GC, per subscription; RSS delta ${g.rssKb.toFixed(1)} KB (baseline ${b.rssKb.toFixed(1)} KB), noisier because freed pages stay mapped`,
      }),
    );
  }
  return results;
}
