/**
 * Figure: cold start to ready (CONTRACT.md "Benchmark results file (more figures)"): from the
 * `npm start` command to the first `200` of `/readyz`, on an existing data directory, against
 * `node -e` with a bare HTTP server (from its spawn to its first 200).
 *
 * Every start is a new process tree in its own process group, with its own free ports, on a data
 * directory (or the bench's fresh Postgres database) that this figure creates and removes: never
 * the user's `.data/`. A first start of each kind creates and migrates its database and is not
 * counted; then ROUNDS rounds alternate baseline, PGlite, Postgres and `node scripts/start.mjs`
 * (the same start without npm: the difference is npm's own start-up). Medians are reported.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { figure, type BenchContext, type FigureResult } from './figure.js';
import { median, sleep } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROUNDS = 5;
const TARGET_MS = 1500;
/** A start slower than this failed (a loaded machine may take 20 s for a first PGlite start). */
const START_LIMIT_MS = 120_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The environment of a measured start: the bench's own settings only, nothing of the caller's database or keys. */
export function startEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[name] !== undefined) env[name] = process.env[name];
  return { ...env, LOG_LEVEL: 'warn', NODE_ENV: 'development', HOST: '127.0.0.1', ...extra };
}

/**
 * Spawns `command` (its own process group), polls `path` on `port` every 5 ms, and returns the
 * ms from the spawn to the first 200; `whenReady` (given the child's pid) runs then; then stops
 * the whole group and waits for it to exit.
 */
export async function timeToReady(command: string, args: string[], env: NodeJS.ProcessEnv, port: number, path: string, whenReady?: (pid: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  const child = spawn(command, args, { cwd: ROOT, env: { ...env, PORT: String(port) }, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    for (;;) {
      if (gone) throw new Error(`${command} ${args.join(' ')} exited before it was ready:\n${stderr}`);
      if (performance.now() - started > START_LIMIT_MS) throw new Error(`${command} ${args.join(' ')} not ready after ${START_LIMIT_MS} ms:\n${stderr}`);
      const status = await fetch(`http://127.0.0.1:${port}${path}`).then(
        (res) => res.arrayBuffer().then(() => res.status),
        () => 0,
      );
      if (status === 200) {
        const ms = performance.now() - started;
        if (whenReady && child.pid !== undefined) await whenReady(child.pid);
        return ms;
      }
      await sleep(5);
    }
  } finally {
    if (!gone && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const killer = setTimeout(() => {
        if (child.pid !== undefined && !gone) process.kill(-child.pid, 'SIGKILL');
      }, 15_000);
      await exited;
      clearTimeout(killer);
    }
  }
}

export async function coldStartFigures(context: BenchContext): Promise<FigureResult[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-cold-start-'));
  try {
    const pglite = startEnv({ PGLITE_DATA_DIR: join(scratch, 'pglite') });
    const postgres = context.database.url ? startEnv({ DATABASE_URL: context.database.url }) : undefined;
    const gateway = async (env: NodeJS.ProcessEnv, npm = true) =>
      timeToReady(npm ? 'npm' : process.execPath, npm ? ['start', '--silent'] : ['scripts/start.mjs'], { ...env, UMS_SIM_PORT: String(await freePort()) }, await freePort(), '/readyz');
    const baseline = async () =>
      timeToReady(process.execPath, ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')"], startEnv({}), await freePort(), '/');

    // Not counted: the first start creates and migrates the database (and warms the OS's caches).
    const fresh = await gateway(pglite);
    context.log(`cold start: first start on a new PGlite directory ${fresh.toFixed(0)} ms (creates and migrates it; not counted)`);
    if (postgres) await gateway(postgres);
    await baseline();

    const times = { baseline: [] as number[], pglite: [] as number[], postgres: [] as number[], direct: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      times.baseline.push(await baseline());
      times.pglite.push(await gateway(pglite));
      if (postgres) times.postgres.push(await gateway(postgres));
      times.direct.push(await gateway(pglite, false));
    }
    const show = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
    context.log(`cold start (ms): baseline ${show(times.baseline)}; PGlite ${show(times.pglite)}; Postgres ${show(times.postgres)}; without npm ${show(times.direct)}`);
    const base = median(times.baseline);
    const npmShare = median(times.pglite) - median(times.direct);
    const startFigure = (name: string, starts: number[], notes: string) =>
      figure({
        name,
        value: median(starts),
        unit: 'ms',
        baseline: '`node -e` with an HTTP server: spawn to its first 200',
        baselineValue: base,
        digits: 0,
        target: `≤ ${TARGET_MS} ms`,
        met: median(starts) <= TARGET_MS,
        notes: `${notes}, median of ${ROUNDS} (${show(starts)})`,
      });
    const results = [
      startFigure(
        'cold start to ready',
        times.pglite,
        `npm start on an existing PGlite data directory (simulator mode), command to /readyz 200; first start on a new directory ${fresh.toFixed(0)} ms, not counted; the same start without npm (node scripts/start.mjs) ${show(times.direct)}, so npm's own start-up ≈ ${npmShare.toFixed(0)} ms`,
      ),
    ];
    if (postgres) {
      results.push(startFigure('cold start to ready (Postgres)', times.postgres, "npm start with DATABASE_URL (the bench's database, migrated), simulator mode"));
    }
    return results;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
