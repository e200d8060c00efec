/**
 * Figure 2: GraphQL `payment(merOrderId)` queries per second (Apollo over Fastify, the real schema
 * and resolvers), against node:http doing the same primary-key SELECT and JSON encoding.
 * Requests cycle through a pool of seeded payments; both sides are checked to answer the row
 * before the load starts. Measured in alternating slices (alternate.ts).
 */
import { alternate, sliceSeconds } from './alternate.js';
import { BenchChild } from './children.js';
import { PAYMENT_QUERY } from './documents.js';
import { figure, spec, type BenchContext, type FigureResult } from './figure.js';
import { once, type LoadOptions } from './load.js';

const POOL = 2000;
type Side = 'gateway' | 'baseline';

function body(id: string): string {
  return JSON.stringify({ operationName: 'Payment', query: PAYMENT_QUERY, variables: { merOrderId: id } });
}

/** One request by hand first: the answer must carry the payment, or the figure means nothing. */
async function check(url: string, id: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers, body: body(id) });
  const json = (await response.json()) as { data?: { payment?: { merOrderId?: string } | null } };
  if (json.data?.payment?.merOrderId !== id) throw new Error(`query check failed at ${url}: ${JSON.stringify(json).slice(0, 300)}`);
}

function options(context: BenchContext, url: string, prefix: string, headers: Record<string, string>): LoadOptions {
  let i = 0;
  return {
    url,
    path: '/graphql',
    headers,
    next: () => body(`${prefix}${i++ % POOL}`),
    connections: context.connections,
    warmupSeconds: 0,
    seconds: context.seconds,
  };
}

export async function queryFigures(context: BenchContext): Promise<FigureResult[]> {
  const prefix = `3194${context.runTag}Q`;
  const children: BenchChild[] = [];
  try {
    // Keys configured (no open mode); the load authenticates with a run-time key bound to the
    // merchant the seeded payments belong to, so every request passes the key ring, the merchant
    // check and the visibility rule.
    const gateway = await BenchChild.start({ ...spec(context, 'gateway'), gatewayApiKeys: `bench_admin_${context.runTag}:admin` });
    children.push(gateway);
    await gateway.call('seed', { prefix, count: POOL });
    const merchantKey = (await gateway.call('merchantKey')) as string;
    // With Postgres the baseline reads the rows the gateway stored; with PGlite it seeds its own.
    const baselineChild = await BenchChild.start(spec(context, 'query-baseline'));
    children.push(baselineChild);
    await baselineChild.call('seed', { prefix, count: POOL });
    const json = { 'content-type': 'application/json' };
    const headers: Record<Side, Record<string, string>> = { gateway: { ...json, authorization: `Bearer ${merchantKey}` }, baseline: json };
    const load: Record<Side, LoadOptions> = { gateway: options(context, gateway.url, prefix, headers.gateway), baseline: options(context, baselineChild.url, prefix, headers.baseline) };
    for (const side of ['gateway', 'baseline'] as const) {
      await check(load[side].url, `${prefix}0`, headers[side]);
      await once(load[side], context.warmupSeconds);
    }
    const slices = 3;
    // CPU time of each server over its own slices: a cost per answer that a busy machine (another
    // process taking turns on the cores) changes far less than it changes throughput.
    const child: Record<Side, BenchChild> = { gateway, baseline: baselineChild };
    const cpu: Record<Side, number> = { gateway: 0, baseline: 0 };
    const results = await alternate<Side>(['gateway', 'baseline'], slices, async (side) => {
      const before = (await child[side].call('cpu')) as number;
      const result = await once(load[side], sliceSeconds(context.seconds, slices));
      cpu[side] += ((await child[side].call('cpu')) as number) - before;
      return result;
    });
    const gw = results.gateway;
    const base = results.baseline;
    context.log(`query gateway: ${gw.perSecond.toFixed(0)} q/s, p50 ${gw.p50} ms, p99 ${gw.p99} ms, ${gw.failed} failed`);
    context.log(`query baseline: ${base.perSecond.toFixed(0)} q/s, p50 ${base.p50} ms, p99 ${base.p99} ms, ${base.failed} failed`);
    const ratio = gw.perSecond / base.perSecond;
    const cpuPer = (side: Side) => cpu[side] / Math.max(1, results[side].done);
    context.log(`query CPU per answer: gateway ${cpuPer('gateway').toFixed(0)} µs, baseline ${cpuPer('baseline').toFixed(0)} µs (baseline/gateway ${(cpuPer('baseline') / cpuPer('gateway')).toFixed(2)})`);
    return [
      figure({
        name: 'GraphQL payment(merOrderId)',
        value: gw.perSecond,
        unit: 'req/s',
        baseline: 'node:http + the same primary-key SELECT (postgres.js, prepared) + JSON encoding',
        baselineValue: base.perSecond,
        digits: 0,
        target: 'ratio ≥ 0.8',
        met: ratio >= 0.8,
        notes: `gateway side authenticated with a run-time key bound to the payments' merchant; ${POOL} payments queried in turn; ${slices} alternating slices per side; p50/p99 ${gw.p50}/${gw.p99} ms vs ${base.p50}/${base.p99} ms; server CPU per answer ${cpuPer('gateway').toFixed(0)} µs vs ${cpuPer('baseline').toFixed(0)} µs; failed ${gw.failed} vs ${base.failed}`,
      }),
    ];
  } finally {
    for (const child of children) await child.stop();
  }
}
