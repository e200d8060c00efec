#!/usr/bin/env node
/**
 * `npm start`, `npm run sim`, `bench` and `codegen` run this before `node dist/…`: it builds dist/
 * only when the sources changed, and never rewrites files that another process may be loading.
 *
 * - A stamp (dist/.build-stamp) holds a hash of every input of the build (src/, bench/, web/, the
 *   tsconfig files, the lock file, the storefront's build script) and each input file's size and
 *   mtime (build-stamp.mjs). Same sizes and mtimes: nothing to do, start at once, without reading
 *   a source; otherwise the contents are hashed, and the same hash still means nothing to do.
 * - Otherwise one process builds, the others wait: a lock file (dist.build.lock, created
 *   exclusively with the pid; a dead holder's lock is taken over). A waiter that finds the stamp
 *   current after the lock is released starts without building.
 * - The gateway is compiled by tsc, then bundled by esbuild into dist/bundle/ (what
 *   `npm start` loads: bundle-gateway.mjs); the demo storefront (web/) is bundled into dist/web.
 * - The build goes to a fresh directory, which then replaces dist/ by rename: a process loading
 *   dist/ sees whole files of one build, never a file being written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBuild, readStamp, stampFor } from './build-stamp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const stampFile = join(dist, '.build-stamp');
const lockFile = join(root, 'dist.build.lock');
const WAIT_LIMIT_MS = 10 * 60_000;

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function tryLock() {
  try {
    writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
  const holder = Number(readFileSync(lockFile, 'utf8').trim() || NaN);
  // Being written this instant (empty) or held by a live builder: wait. Dead holder: take over.
  if (!Number.isInteger(holder) || isAlive(holder)) return false;
  // Moved aside, then read again: another waiter may have taken the stale lock over between our
  // read and our rename, and what we moved is then its live lock, which goes back.
  const aside = `${lockFile}.stale-${process.pid}`;
  try {
    renameSync(lockFile, aside);
  } catch {
    return false; // another waiter moved it first
  }
  if (readFileSync(aside, 'utf8').trim() !== String(holder)) {
    try {
      linkSync(aside, lockFile);
    } catch {
      // A lock is in place again; the next look judges it.
    }
  }
  rmSync(aside, { force: true });
  return false;
}

function unlock() {
  try {
    if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) rmSync(lockFile);
  } catch {
    // Already gone.
  }
}

async function build({ hash, stats, statAt }) {
  const staging = join(root, `dist.build-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', staging], { stdio: 'inherit' });
  if (result.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    process.exit(result.status ?? 1);
  }
  // Loaded only when building: the fast path (nothing changed) does not pay for esbuild.
  const { buildWeb } = await import('./build-web.mjs');
  const { bundleGateway } = await import('./bundle-gateway.mjs');
  for (const [what, step] of [
    ['the storefront (web/)', () => buildWeb(join(staging, 'web'))],
    ['the gateway bundle (npm start)', () => bundleGateway(staging)],
  ]) {
    try {
      await step();
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      process.stderr.write(`build: ${what} did not build: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  }
  writeFileSync(join(staging, '.build-stamp'), `${JSON.stringify(stampFor(hash, stats, statAt))}\n`);
  // Two renames: the old build moves aside whole, the new one takes its name whole.
  const old = join(root, `dist.old-${process.pid}`);
  for (;;) {
    if (existsSync(dist)) renameSync(dist, old);
    try {
      renameSync(staging, dist);
      break;
    } catch (err) {
      // Another builder put its dist/ in place between our two renames: move that aside too.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      rmSync(old, { recursive: true, force: true });
    }
  }
  rmSync(old, { recursive: true, force: true });
}

const check = checkBuild(root, stampFile);
if (!check.current) {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  let reported = false;
  while (!tryLock()) {
    if (Date.now() > deadline) {
      process.stderr.write(`build: ${relative(root, lockFile)} held for over ${WAIT_LIMIT_MS / 60_000} minutes; remove it if no build is running\n`);
      process.exit(1);
    }
    if (!reported) {
      process.stderr.write('build: another process is building dist/, waiting for it\n');
      reported = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  try {
    // The build we waited for may be exactly this one.
    if (readStamp(stampFile)?.hash !== check.hash) await build(check);
  } finally {
    unlock();
  }
}
