/**
 * The real gateway as a child process (`node --import tsx src/main.ts`), the way an operator runs
 * it: configured through the environment only, stopped with a signal. What it prints is kept (the
 * last few KiB) so a failing test can show why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The package root: test/app/shutdown/ → ../../../ */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A port nobody listens on right now (listen on 0, note it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  pid: number;
  /** http://127.0.0.1:<PORT> */
  url: string;
  /** Settles when the process has exited. */
  exited: Promise<Exit>;
  /** Whether it has exited already. */
  hasExited(): boolean;
  /** The tail of what it wrote on stdout and stderr. */
  output(): string;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL if still running; then waits for the exit. For clean-up after a failed test. */
  kill(): Promise<void>;
}

export interface GatewayEnv {
  /** Postgres URL; unset: PGlite at `pgliteDataDir`. */
  databaseUrl?: string;
  pgliteDataDir?: string;
  /** More variables (e.g. GATEWAY_SECRET_KEY, WEBHOOK_*), set last. */
  env?: Record<string, string>;
}

const OUTPUT_TAIL = 16 * 1024;

/**
 * Starts the gateway in simulator mode on two free ports; does not wait for it to be ready.
 * `extra` is added to its environment last (e.g. UMS_BASE_URL for live mode against a test's UMS).
 */
export async function spawnGateway(db: GatewayEnv, extra: NodeJS.ProcessEnv = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const simPort = await freePort();
  // Start from the parent's environment (PATH, tsx's cache dir…) minus anything that would point
  // the child at something else than this test's database and simulator.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(UMS_|PAYMENT_SYNC_|GATEWAY_|GRAPHQL_|DATABASE_URL$|PGLITE_)/.test(name)) delete env[name];
  }
  Object.assign(env, {
    HOST: '127.0.0.1',
    PORT: String(port),
    UMS_SIM_PORT: String(simPort),
    LOG_LEVEL: 'warn',
    NODE_ENV: 'test',
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    ...(db.pgliteDataDir ? { PGLITE_DATA_DIR: db.pgliteDataDir } : {}),
    ...extra,
    ...db.env,
  });

  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PACKAGE_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('the gateway process did not start');

  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });

  return {
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    exited,
    hasExited: () => exit !== undefined,
    output: () => tail,
    signal: (signal) => {
      child.kill(signal);
    },
    kill: async () => {
      if (exit === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls GET /readyz until it answers 200; throws (with the child's output) if it dies or times out. */
export async function waitUntilReady(gateway: GatewayProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gateway.hasExited()) {
      throw new Error(`the gateway exited before it was ready:\n${gateway.output()}`);
    }
    try {
      const res = await fetch(`${gateway.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the gateway was not ready within ${timeoutMs} ms:\n${gateway.output()}`);
}

/** The exit, or undefined if the process is still running after `ms`. */
export async function exitWithin(gateway: GatewayProcess, ms: number): Promise<Exit | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([gateway.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
