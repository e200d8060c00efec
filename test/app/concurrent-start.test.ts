/**
 * Several `npm start` at once from one checkout, each with its own port and database, all come
 * up: the build runs once (the others wait for it) and dist/ is replaced whole, never rewritten
 * under a process that is loading it. Real processes; slow on a loaded machine, hence one test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, until } from './support.js';

const INSTANCES = 4;
const children: ChildProcess[] = [];

function stopAll(): void {
  for (const child of children) {
    // npm, its shell and node share the process group started here (detached).
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  }
}

afterAll(stopAll);

describe('npm start', () => {
  it(`${INSTANCES} at once from one checkout all answer /readyz (one build, the others wait for it)`, { timeout: 400_000 }, async () => {
    // Sources "changed": the first start builds, the others must not start on a half-written dist/.
    rmSync(join(process.cwd(), 'dist', '.build-stamp'), { force: true });
    const instances = await Promise.all(
      Array.from({ length: INSTANCES }, async () => ({ port: await freePort(), simPort: await freePort(), output: '' })),
    );
    for (const instance of instances) {
      const child = spawn('npm', ['start'], {
        detached: true,
        env: {
          ...process.env,
          PORT: String(instance.port),
          UMS_SIM_PORT: String(instance.simPort),
          PGLITE_DATA_DIR: 'memory://',
          LOG_LEVEL: 'warn',
          NODE_ENV: 'development',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (chunk: Buffer) => (instance.output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (instance.output += chunk.toString()));
      children.push(child);
    }
    const exits = children.map((child, i) => new Promise<never>((_resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`instance ${i} exited (${code}) before it was ready:\n${instances[i]!.output}`)));
    }));
    const ready = instances.map((instance) =>
      until(
        `instance on ${instance.port}`,
        async () => {
          const res = await fetch(`http://127.0.0.1:${instance.port}/readyz`).catch(() => undefined);
          return res?.status === 200 ? true : undefined;
        },
        350_000,
      ),
    );
    await Promise.race([Promise.all(ready), ...exits]);
    // One whole build in place, nothing half-done left beside it.
    expect(existsSync(join(process.cwd(), 'dist', '.build-stamp'))).toBe(true);
    expect(readdirSync(process.cwd()).filter((name) => /^dist\.(build|old)-/.test(name))).toEqual([]);
    stopAll();
  });
});
