/** What each figure file returns, and what they all receive. */
import type { BenchDatabase } from './database.js';
import type { ChildSpec, ChildRole } from './ipc.js';
import { round } from './stats.js';

/** One row of the table and of bench/results/latest.json (CONTRACT.md "Benchmark results file"). */
export interface FigureResult {
  name: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number;
  /** value / baselineValue. For req/s higher is better; for ms and KB lower is better. */
  ratio: number;
  /** e.g. "ratio ≥ 0.5" or "≤ 100 ms". */
  target?: string;
  met?: boolean;
  /** How the figure was obtained (counts, checks), for the reader of the JSON. */
  notes?: string;
}

export interface BenchContext {
  database: BenchDatabase;
  /** Measured seconds per load run, after `warmupSeconds`. */
  seconds: number;
  warmupSeconds: number;
  /** autocannon connections. */
  connections: number;
  /** Unique per run: order ids and notifyIds start with it. */
  runTag: string;
  log(line: string): void;
}

export function spec(context: BenchContext, role: ChildRole): ChildSpec {
  return context.database.url ? { role, databaseUrl: context.database.url } : { role };
}

export function figure(input: Omit<FigureResult, 'ratio'> & { digits?: number }): FigureResult {
  const { digits = 1, name, value, unit, baseline, baselineValue, ...extra } = input;
  // The contract's keys first, in its order; target, met and notes after.
  return {
    name,
    value: round(value, digits),
    unit,
    baseline,
    baselineValue: round(baselineValue, digits),
    ratio: round(value / baselineValue, 2),
    ...extra,
  };
}
