/**
 * The driver's side of ipc.ts: fork a measured process, wait for its URL, send it commands,
 * stop it. `BENCH_PROFILE=1` adds `--cpu-prof` so each child writes a .cpuprofile on exit.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ChildSpec, MemorySample } from './ipc.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Where --cpu-prof writes (bench/results/profiles, next to the sources, not in dist/). */
export const PROFILE_DIR = join(here, '..', '..', 'bench', 'results', 'profiles');

export class BenchChild {
  readonly #process: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;
  #exited: Promise<void>;

  private constructor(
    child: ChildProcess,
    readonly url: string,
    readonly role: string,
  ) {
    this.#process = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (message: ChildMessage) => {
      if (message.type !== 'answer') return;
      const waiter = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (!waiter) return;
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(`${role}: ${message.error}`));
    });
    child.once('exit', (code) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`${role} exited (${code})`));
      this.#pending.clear();
    });
  }

  static async start(spec: ChildSpec): Promise<BenchChild> {
    const execArgv = ['--expose-gc'];
    if (process.env.BENCH_PROFILE === '1') {
      mkdirSync(PROFILE_DIR, { recursive: true });
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${spec.role}-${Date.now()}.cpuprofile`);
    }
    const child = fork(join(here, 'child.js'), [JSON.stringify(spec)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const url = await new Promise<string>((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.type === 'ready') resolve(message.url);
        if (message.type === 'failed') reject(new Error(`${spec.role} failed to start: ${message.error}`));
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`${spec.role} exited during start-up (${code})`)));
    });
    return new BenchChild(child, url, spec.role);
  }

  call<T>(command: string, args?: unknown): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#process.send({ id, command, args });
    });
  }

  memory(): Promise<MemorySample> {
    return this.call<MemorySample>('memory');
  }

  /** Asks the child to close cleanly; kills it (this process only) after 15 s. */
  async stop(): Promise<void> {
    if (this.#process.exitCode !== null) return;
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), 15_000);
    await this.call('close').catch(() => {});
    await this.#exited;
    clearTimeout(timer);
  }
}

/** Starts a child, runs `fn`, always stops it. */
export async function withChild<T>(spec: ChildSpec, fn: (child: BenchChild) => Promise<T>): Promise<T> {
  const child = await BenchChild.start(spec);
  try {
    return await fn(child);
  } finally {
    await child.stop();
  }
}
