/**
 * Figure 1: verified notifications stored per second, and their p50/p99 latency.
 *
 * Gateway: POST /notify/ums of the real app (parse, verify, one transaction through the ledger:
 * lock the payment, apply TRADE_SUCCESS, append the event, store the notification, answer SUCCESS).
 * Baseline: node:http parsing the same form, checking the same MD5 sign, one upsert (postgres.js).
 *
 * Every request is a different notification: order i of a pool of seeded NEW_ORDER payments is
 * paid by notification i (its own merOrderId and notifyId), so each one is a real store, never a
 * duplicate. After the run the gateway's notifications table is counted by outcome to prove it.
 */
import { withChild } from './children.js';
import { figure, spec, type BenchContext, type FigureResult } from './figure.js';
import { load, type LoadResult } from './load.js';
import { FORM, paidNotification } from './notifications.js';

/** Enough orders for the warm-up and the measured run at well above the expected rate. */
function poolSize(context: BenchContext, ceilingPerSecond: number): number {
  return Math.ceil((context.warmupSeconds + context.seconds) * ceilingPerSecond * 1.3);
}

function notifyLoad(context: BenchContext, url: string, prefix: string, pool: number): Promise<LoadResult> {
  let i = 0;
  return load({
    url,
    path: '/notify/ums',
    headers: { 'content-type': FORM },
    next: () => {
      // Past the pool the bodies repeat: the outcome count below would show duplicates.
      const n = i++ % pool;
      return paidNotification(`${prefix}${n}`, `${prefix}-n${n}`);
    },
    connections: context.connections,
    warmupSeconds: context.warmupSeconds,
    seconds: context.seconds,
    expectBody: 'SUCCESS',
  });
}

export async function notifyFigures(context: BenchContext): Promise<FigureResult[]> {
  const baselinePool = poolSize(context, 6000);
  const baselinePrefix = `3194${context.runTag}B`;
  const base = await withChild(spec(context, 'notify-baseline'), async (child) => {
    await child.call('seed', { prefix: baselinePrefix, count: baselinePool });
    const result = await notifyLoad(context, child.url, baselinePrefix, baselinePool);
    const paid = await child.call<number>('countStatus', 'TRADE_SUCCESS');
    return { result, paid };
  });
  context.log(`notify baseline: ${base.result.perSecond.toFixed(0)} req/s, p50 ${base.result.p50} ms, p99 ${base.result.p99} ms, ${base.paid} orders paid`);

  const gatewayPool = poolSize(context, 2500);
  const prefix = `3194${context.runTag}N`;
  const gw = await withChild(spec(context, 'gateway'), async (child) => {
    const seedMs = await child.call<number>('seed', { prefix, count: gatewayPool });
    context.log(`notify: seeded ${gatewayPool} orders through the ledger in ${(seedMs / 1000).toFixed(1)} s`);
    const result = await notifyLoad(context, child.url, prefix, gatewayPool);
    const outcomes = await child.call<Record<string, number>>('outcomes');
    return { result, outcomes };
  });
  context.log(`notify gateway: ${gw.result.perSecond.toFixed(0)} req/s, p50 ${gw.result.p50} ms, p99 ${gw.result.p99} ms, outcomes ${JSON.stringify(gw.outcomes)}`);

  const notes =
    `each request a distinct signed notification (own merOrderId + notifyId) paying a seeded NEW_ORDER payment; ` +
    `gateway outcomes ${JSON.stringify(gw.outcomes)}; ${gw.result.failed} non-SUCCESS answers (gateway), ${base.result.failed} (baseline)`;
  const baseline = 'node:http + form parse + MD5 check + one postgres.js INSERT … ON CONFLICT DO UPDATE';
  return [
    figure({ name: 'notify: notifications stored', value: gw.result.perSecond, unit: 'req/s', baseline, baselineValue: base.result.perSecond, digits: 0, target: 'ratio ≥ 0.5', met: gw.result.perSecond / base.result.perSecond >= 0.5, notes }),
    figure({ name: 'notify: p50 latency', value: gw.result.p50, unit: 'ms', baseline, baselineValue: base.result.p50 }),
    figure({ name: 'notify: p99 latency', value: gw.result.p99, unit: 'ms', baseline, baselineValue: base.result.p99 }),
  ];
}
