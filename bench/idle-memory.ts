/**
 * Figure: the gateway's idle memory. The resident set (VmRSS, /proc/<pid>/status) of
 * `node scripts/start.mjs` (what `npm start` runs, without npm's own process) in simulator mode on
 * an existing PGlite data directory, IDLE_MS after `/readyz` first answered 200; against `node -e`
 * with an HTTP server, read the same way. Median of ROUNDS starts each, on a data directory this
 * figure creates and removes. Where the memory goes: bench/README.md "Idle memory".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEnv, timeToReady } from './cold-start.js';
import { figure, type BenchContext, type FigureResult } from './figure.js';
import { median, sleep } from './stats.js';

const ROUNDS = 3;
const IDLE_MS = 2000;

/** VmRSS of `pid` in MB (Linux). */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  const kb = Number(line?.match(/(\d+)/)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for pid ${pid}`);
  return kb / 1024;
}

export async function idleMemoryFigures(context: BenchContext): Promise<FigureResult[]> {
  if (process.platform !== 'linux') {
    context.log('idle memory: /proc is Linux-only; skipped');
    return [];
  }
  const scratch = mkdtempSync(join(tmpdir(), 'bench-idle-memory-'));
  try {
    const env = startEnv({ PGLITE_DATA_DIR: join(scratch, 'pglite') });
    const read = (into: number[]) => async (pid: number) => {
      await sleep(IDLE_MS);
      into.push(rssMb(pid));
    };
    const gateway = async (into: number[]) =>
      timeToReady(process.execPath, ['scripts/start.mjs'], { ...env, UMS_SIM_PORT: String(await freePort()) }, await freePort(), '/readyz', read(into));
    const bare = async (into: number[]) =>
      timeToReady(process.execPath, ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')"], startEnv({}), await freePort(), '/', read(into));

    await gateway([]); // creates and migrates the data directory; not counted
    const gatewayMb: number[] = [];
    const bareMb: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await bare(bareMb);
      await gateway(gatewayMb);
    }
    const show = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
    context.log(`idle memory (MB RSS): gateway ${show(gatewayMb)}; bare node ${show(bareMb)}`);
    return [
      figure({
        name: 'idle memory (RSS after start, simulator mode, PGlite)',
        value: median(gatewayMb),
        unit: 'MB',
        baseline: 'a bare Node process with an HTTP server',
        baselineValue: median(bareMb),
        digits: 0,
        notes: `VmRSS ${IDLE_MS} ms after /readyz 200, node scripts/start.mjs on an existing PGlite data directory, median of ${ROUNDS} (${show(gatewayMb)} vs ${show(bareMb)}); 438 MB measured before PGlite's shared_buffers went to 16 MB`,
      }),
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
