/**
 * `npm run bench`: every figure against its baseline, measured in the same run on the same
 * machine, printed as a markdown table and written to bench/results/latest.json. See README.md.
 *
 * Environment: DATABASE_URL or TEST_DATABASE_URL (a Postgres server to create a fresh database on;
 * else PGlite), BENCH_SECONDS (measured seconds per load run, default 6), BENCH_WARMUP_SECONDS
 * (default 2), BENCH_CONNECTIONS (default 50), BENCH_ONLY (e.g. `notify,query`: run those figures,
 * print them, leave latest.json alone), BENCH_PROFILE=1 (--cpu-prof in every measured process).
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coldStartFigures } from './cold-start.js';
import { createBenchDatabase } from './database.js';
import { fanoutFigures } from './fanout.js';
import type { BenchContext, FigureResult } from './figure.js';
import { queryFigures } from './graphql-query.js';
import { idleMemoryFigures } from './idle-memory.js';
import { schedulerRoundFigures } from './scheduler-rounds.js';
import { notifyFigures } from './notify.js';
import { load1, machine, markdownTable, writeResults } from './report.js';
import { umsClientFigures } from './ums-client.js';
import { webhookDeliveryFigures } from './webhook-delivery.js';

const FIGURES: Record<string, (context: BenchContext) => Promise<FigureResult[]>> = {
  notify: notifyFigures,
  query: queryFigures,
  fanout: fanoutFigures,
  ums: umsClientFigures,
  'cold-start': coldStartFigures,
  memory: idleMemoryFigures,
  scheduler: schedulerRoundFigures,
  webhooks: webhookDeliveryFigures,
};

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'latest.json');

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got "${raw}"`);
  return n;
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of only ?? []) if (!FIGURES[name]) throw new Error(`BENCH_ONLY: unknown figure ${name} (known: ${Object.keys(FIGURES).join(', ')})`);
  const started = Date.now();
  const loadAtStart = load1();
  const database = await createBenchDatabase();
  const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);
  log(`database: ${database.description}`);
  log(`1-minute load average at start: ${loadAtStart} (2 cores; above ~0.5 something else is running and every figure is noisier)`);
  const context: BenchContext = {
    database,
    seconds: positive('BENCH_SECONDS', 6),
    warmupSeconds: positive('BENCH_WARMUP_SECONDS', 2),
    connections: positive('BENCH_CONNECTIONS', 50),
    runTag: `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`.toUpperCase(),
    log,
  };
  const results: FigureResult[] = [];
  // Ctrl-C: the children exit with us (IPC disconnect); the fresh database must not stay behind.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: dropping the bench database`);
    void database.drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for (const [name, run] of Object.entries(FIGURES)) {
      if (only && !only.includes(name)) continue;
      log(`figure ${name}…`);
      results.push(...(await run(context)));
    }
  } finally {
    await database.drop();
  }

  const machineText = machine(database.description);
  const loadAverage = { start: loadAtStart, end: load1() };
  process.stdout.write(`\n## Benchmarks (${new Date().toISOString()})\n\n${machineText}\n1-minute load average: ${loadAverage.start} at start, ${loadAverage.end} at the end\n\n${markdownTable(results)}\n\n`);
  process.stdout.write('Ratios are gateway / baseline: for req/s and calls/s higher is better, for ms and KB lower is better.\n');
  if (!only) {
    writeResults(RESULTS, machineText, results, loadAverage);
    process.stdout.write(`Written to bench/results/latest.json in ${((Date.now() - started) / 1000).toFixed(0)} s.\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
