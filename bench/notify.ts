/**
 * Figure 1: verified notifications stored per second, and their p50/p99 latency.
 *
 * Gateway: POST /notify/ums of the real app (parse, verify, one transaction through the ledger:
 * lock the payment, apply TRADE_SUCCESS, append the event, store the notification, answer SUCCESS).
 * Baseline: node:http parsing the same form, checking the same MD5 sign, one upsert (postgres.js).
 *
 * Every request is a different notification: order i of a pool of seeded NEW_ORDER payments is
 * paid by notification i (its own merOrderId and notifyId), so each one is a real store, never a
 * duplicate. Seeding through the ledger is slow, so a warm-up on a small pool first gives the rate
 * from which the measured pool is sized; the stored rows are counted by outcome before and after
 * the measured slices to prove what was stored.
 */
import { alternate, sliceSeconds } from './alternate.js';
import { BenchChild } from './children.js';
import { figure, spec, type BenchContext, type FigureResult } from './figure.js';
import { once, type LoadOptions } from './load.js';
import { FORM, paidNotification } from './notifications.js';

type Side = 'gateway' | 'baseline';

/** A body generator over `${prefix}0 … ${prefix}${pool - 1}`; past the pool it repeats (duplicates). */
function bodies(prefix: string, pool: number): () => string {
  let i = 0;
  return () => {
    const n = i++ % pool;
    return paidNotification(`${prefix}${n}`, `${prefix}-n${n}`);
  };
}

function options(context: BenchContext, url: string, next: () => string): LoadOptions {
  return { url, path: '/notify/ums', headers: { 'content-type': FORM }, next, connections: context.connections, warmupSeconds: 0, seconds: context.seconds, expectBody: 'SUCCESS' };
}

const difference = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));

interface Prepared {
  child: BenchChild;
  next: () => string;
  outcomes: () => Promise<Record<string, number>>;
}

/**
 * Warm-up on a small pool, then seed enough for the measured slices at 3 × the warm-up rate: a
 * warm-up runs cold (JIT, first statements), and a measured side that ran past its pool would be
 * measuring duplicates (a slower path) instead of stores. The stored outcomes show it if it did.
 */
async function prepare(context: BenchContext, child: BenchChild, prefix: string, outcomes: () => Promise<Record<string, number>>): Promise<Prepared> {
  const warmPool = 1500;
  await child.call('seed', { prefix: `${prefix}W`, count: warmPool });
  const warm = await once(options(context, child.url, bodies(`${prefix}W`, warmPool)), Math.max(context.warmupSeconds, 2));
  const pool = Math.ceil(Math.max(warm.perSecond, 300) * context.seconds * 3) + 1000;
  const started = Date.now();
  await child.call('seed', { prefix: `${prefix}M`, count: pool });
  context.log(`notify ${child.role}: warm-up ${warm.perSecond.toFixed(0)} req/s; seeded ${pool} orders for the measured run in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { child, next: bodies(`${prefix}M`, pool), outcomes };
}

export async function notifyFigures(context: BenchContext): Promise<FigureResult[]> {
  const children: BenchChild[] = [];
  try {
    const gatewayChild = await BenchChild.start(spec(context, 'gateway'));
    children.push(gatewayChild);
    const baselineChild = await BenchChild.start(spec(context, 'notify-baseline'));
    children.push(baselineChild);
    const sides: Record<Side, Prepared> = {
      gateway: await prepare(context, gatewayChild, `3194${context.runTag}N`, () => gatewayChild.call('outcomes')),
      baseline: await prepare(context, baselineChild, `3194${context.runTag}B`, async () => ({ paid: await baselineChild.call<number>('countStatus', 'TRADE_SUCCESS') })),
    };
    const before = { gateway: await sides.gateway.outcomes(), baseline: await sides.baseline.outcomes() };
    const slices = 3;
    const results = await alternate<Side>(['gateway', 'baseline'], slices, (side) =>
      once(options(context, sides[side].child.url, sides[side].next), sliceSeconds(context.seconds, slices)),
    );
    const stored = {
      gateway: difference(await sides.gateway.outcomes(), before.gateway),
      baseline: difference(await sides.baseline.outcomes(), before.baseline),
    };
    const gw = results.gateway;
    const base = results.baseline;
    context.log(`notify gateway: ${gw.perSecond.toFixed(0)} req/s, p50 ${gw.p50} ms, p99 ${gw.p99} ms, stored ${JSON.stringify(stored.gateway)}`);
    context.log(`notify baseline: ${base.perSecond.toFixed(0)} req/s, p50 ${base.p50} ms, p99 ${base.p99} ms, stored ${JSON.stringify(stored.baseline)}`);
    const notApplied = Object.keys(stored.gateway).filter((outcome) => outcome !== 'applied');
    if (notApplied.length > 0) context.log(`WARNING notify gateway ran past its pool of orders: the figure includes ${notApplied.join(', ')} (not stores)`);

    const ratio = gw.perSecond / base.perSecond;
    const notes =
      `each request a distinct signed notification (own merOrderId + notifyId) paying a seeded NEW_ORDER payment; ` +
      `${slices} alternating slices per side; measured slices stored: gateway ${JSON.stringify(stored.gateway)}, baseline ${JSON.stringify(stored.baseline)}; ` +
      `non-SUCCESS answers: gateway ${gw.failed}, baseline ${base.failed}`;
    const baseline = 'node:http + form parse + MD5 check + one postgres.js INSERT … ON CONFLICT DO UPDATE';
    return [
      figure({ name: 'notify: notifications stored', value: gw.perSecond, unit: 'req/s', baseline, baselineValue: base.perSecond, digits: 0, target: 'ratio ≥ 0.8', met: ratio >= 0.8, notes }),
      figure({ name: 'notify: p50 latency', value: gw.p50, unit: 'ms', baseline, baselineValue: base.p50 }),
      figure({ name: 'notify: p99 latency', value: gw.p99, unit: 'ms', baseline, baselineValue: base.p99 }),
    ];
  } finally {
    for (const child of children) await child.stop();
  }
}
