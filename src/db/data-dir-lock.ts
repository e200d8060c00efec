/**
 * One embedded database, one process. PGlite keeps its files in a directory and assumes it is
 * their only user: a second process opening them would corrupt both views silently. A lock file
 * in the directory names the holder's pid and host; a lock left by a process of this host that is
 * gone (crash, kill -9) is taken over. A lock of another host (a shared volume, another
 * container: pids mean nothing across them) is never taken over: remove it by hand.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'gateway.lock';
const ATTEMPTS = 5;

/** Thrown when the directory is in use; its message is the one line start-up prints. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock if it is still ours; idempotent. */
  release(): void;
}

/** Directories locked by this process: a pid recycled from a dead holder (pid 1 in a container) is not us. */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  pid: number;
  host: string;
}

const HOST = hostname();

function holderOf(path: string): Holder | undefined {
  try {
    const [pidText, host] = readFileSync(path, 'utf8').split('\n');
    const pid = Number(pidText?.trim());
    // A lock written before hosts were recorded names only a pid: this host's.
    return Number.isInteger(pid) && pid > 0 ? { pid, host: host?.trim() || HOST } : undefined;
  } catch {
    return undefined;
  }
}

function sameHolder(a: Holder | undefined, b: Holder): boolean {
  return a !== undefined && a.pid === b.pid && a.host === b.host;
}

/** Takes the lock of `dataDir` (which must exist) or throws DataDirInUseError naming the holder. */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      // wx: created only if absent, atomically; of two processes exactly one succeeds.
      writeFileSync(path, `${process.pid}\n${HOST}\n`, { flag: 'wx' });
      heldHere.add(dir);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(dir);
          if (sameHolder(holderOf(path), { pid: process.pid, host: HOST })) unlinkSync(path);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = holderOf(path);
    if (holder === undefined && attempt < ATTEMPTS - 1) {
      // Empty: being written this instant (wx creates, then writes). Give its writer a moment;
      // only a lock still unreadable after that (its writer died in between) is taken over.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      continue;
    }
    if (holder !== undefined && holder.host !== HOST) {
      throw new DataDirInUseError(
        `PGLITE_DATA_DIR ${dir} is in use by process ${holder.pid} on host ${holder.host}: an embedded database serves one process (if that process is gone, remove ${path})`,
      );
    }
    const ours = holder?.pid === process.pid && heldHere.has(dir);
    if (holder !== undefined && (ours || (holder.pid !== process.pid && isAlive(holder.pid)))) {
      throw new DataDirInUseError(
        `PGLITE_DATA_DIR ${dir} is in use by process ${holder.pid}: an embedded database serves one process (stop that one, or give this one its own PGLITE_DATA_DIR or a DATABASE_URL)`,
      );
    }
    // A stale lock. Moved aside, then read again: another process may have taken the stale lock over between our read
    // and our rename, and what we moved is then its live lock, which goes back.
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue; // someone else moved it first; look again
    }
    const moved = holderOf(aside);
    if (holder === undefined || sameHolder(moved, holder)) {
      unlinkSync(aside);
      continue;
    }
    try {
      linkSync(aside, path); // back where it was, unless yet another lock is there now
    } catch {
      // A lock is in place again; the next round judges it.
    }
    unlinkSync(aside);
  }
  throw new DataDirInUseError(`PGLITE_DATA_DIR ${dir}: could not take ${LOCK_FILE} (another process keeps replacing it)`);
}
