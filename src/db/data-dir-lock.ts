/**
 * One embedded database, one process. PGlite keeps its files in a directory and assumes it is
 * their only user: a second process opening them would corrupt both views silently. A lock file
 * in the directory names the holder's pid; a lock left by a process that is gone (crash, kill -9)
 * is taken over.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'gateway.lock';

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

function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock of `dataDir` (which must exist) or throws DataDirInUseError naming the holder. */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      // wx: created only if absent, atomically; of two processes exactly one succeeds.
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      heldHere.add(dir);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(dir);
          if (holderOf(path) === process.pid) unlinkSync(path);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = holderOf(path);
    const ours = pid === process.pid && heldHere.has(dir);
    if (pid !== undefined && (ours || (pid !== process.pid && isAlive(pid)))) {
      throw new DataDirInUseError(
        `PGLITE_DATA_DIR ${dir} is in use by process ${pid}: an embedded database serves one process (stop that one, or give this one its own PGLITE_DATA_DIR or a DATABASE_URL)`,
      );
    }
    // A stale lock (or one being written this instant: then the next round sees it whole).
    // Renamed aside rather than deleted, so two processes taking over cannot both succeed.
    try {
      renameSync(path, `${path}.stale-${process.pid}`);
      unlinkSync(`${path}.stale-${process.pid}`);
    } catch {
      // Someone else moved it first; look again.
    }
  }
  throw new DataDirInUseError(`PGLITE_DATA_DIR ${dir}: could not take ${LOCK_FILE} (another process keeps replacing it)`);
}
