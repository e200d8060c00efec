/** The markdown table on stdout and bench/results/latest.json (CONTRACT.md). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { FigureResult } from './figure.js';

export function machine(database: string): string {
  const cpu = cpus();
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${platform()} ${release()}, Node ${process.version}; ${database}`;
}

const show = (n: number): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(n));

export function markdownTable(results: readonly FigureResult[]): string {
  const lines = [
    '| figure | gateway | baseline | ratio | target |',
    '| --- | ---: | ---: | ---: | --- |',
    ...results.map((r) => {
      const target = r.target ? `${r.target} ${r.met ? '✅' : '❌'}` : '';
      return `| ${r.name} | ${show(r.value)} ${r.unit} | ${show(r.baselineValue)} ${r.unit} | ${show(r.ratio)} | ${target} |`;
    }),
  ];
  return lines.join('\n');
}

/** The 1-minute load average: other work on the machine during the run shows here. */
export function load1(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

export function writeResults(path: string, machineText: string, results: readonly FigureResult[], loadAverage: { start: number; end: number }): void {
  mkdirSync(dirname(path), { recursive: true });
  const document = { machine: machineText, date: new Date().toISOString(), loadAverage1m: loadAverage, results };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
}
