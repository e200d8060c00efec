/**
 * One embedded database, one process: a second gateway on the same PGLITE_DATA_DIR refuses with
 * one line naming the directory and the pid holding it; a lock left by a dead process is taken over.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { LOCK_FILE } from '../../src/db/data-dir-lock.js';
import { createLogger } from '../../src/log.js';
import { seedPgliteDataDir } from '../support/db.js';
import { freePort } from './support.js';

const run = promisify(execFile);
const silent = createLogger('silent');
const dirs: string[] = [];

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-lock-'));
  dirs.push(dir);
  // A migrated cluster, not an empty directory: what is tested is the lock, not an initdb.
  seedPgliteDataDir(dir);
  return dir;
}

async function configOn(dir: string) {
  return loadConfig({ PORT: String(await freePort()), UMS_SIM_PORT: String(await freePort()), PGLITE_DATA_DIR: dir, LOG_LEVEL: 'silent' });
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('PGLITE_DATA_DIR lock', { timeout: 120_000 }, () => {
  it('a second gateway in this process refuses; after close the directory opens again', async () => {
    const dir = dataDir();
    const first = await startGateway(await configOn(dir), { log: silent, defaultMetrics: false, scheduler: false });
    try {
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n${hostname()}\n`);
      await expect(startGateway(await configOn(dir), { log: silent, defaultMetrics: false, scheduler: false })).rejects.toThrow(
        `PGLITE_DATA_DIR ${dir} is in use by process ${process.pid}`,
      );
      // The refused start took nothing down: the first one still answers.
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    } finally {
      await first.close();
    }
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const again = await startGateway(await configOn(dir), { log: silent, defaultMetrics: false, scheduler: false });
    await again.close();
  });

  it('another process on the same directory exits non-zero with one line naming the directory and the pid', async () => {
    const dir = dataDir();
    const holder = await startGateway(await configOn(dir), { log: silent, defaultMetrics: false, scheduler: false });
    try {
      const failure = (await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { PATH: process.env.PATH, PGLITE_DATA_DIR: dir, PORT: String(await freePort()), UMS_SIM_PORT: String(await freePort()), LOG_LEVEL: 'silent' },
        encoding: 'utf8',
      }).then(
        () => undefined,
        (err: unknown) => err,
      )) as { code: number; stderr: string } | undefined;
      expect(failure?.code).toBe(1);
      expect(failure?.stderr.trim()).toBe(
        `fatal: PGLITE_DATA_DIR ${dir} is in use by process ${process.pid}: an embedded database serves one process (stop that one, or give this one its own PGLITE_DATA_DIR or a DATABASE_URL)`,
      );
      expect((await fetch(`${holder.url}/readyz`)).status).toBe(200);
    } finally {
      await holder.close();
    }
  });

  it('takes over the lock of a process that is gone (crash, kill -9)', async () => {
    const dir = dataDir();
    // A pid that surely ended: a child that has exited.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, LOCK_FILE), `${dead}\n`);
    const gw = await startGateway(await configOn(dir), { log: silent, defaultMetrics: false, scheduler: false });
    try {
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n${hostname()}\n`);
    } finally {
      await gw.close();
    }
  });

  it('locks a directory written as file:// too (PGlite keeps it on disk)', async () => {
    const dir = dataDir();
    const first = await startGateway(await configOn(`file://${dir}`), { log: silent, defaultMetrics: false, scheduler: false });
    try {
      await expect(startGateway(await configOn(dir), { log: silent, defaultMetrics: false, scheduler: false })).rejects.toThrow(`PGLITE_DATA_DIR ${dir} is in use`);
    } finally {
      await first.close();
    }
  });

  it('never takes over the lock of another host (a shared volume: its pids mean nothing here)', async () => {
    const dir = dataDir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, LOCK_FILE), `${dead}\nanother-host\n`);
    await expect(startGateway(await configOn(dir), { log: silent, defaultMetrics: false, scheduler: false })).rejects.toThrow(
      `PGLITE_DATA_DIR ${dir} is in use by process ${dead} on host another-host`,
    );
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${dead}\nanother-host\n`);
  });
});
