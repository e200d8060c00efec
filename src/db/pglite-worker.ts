/**
 * PGlite (Postgres compiled to WebAssembly) started in a worker thread, so that its start — about
 * half a second of CPU on an existing data directory, all of it on the thread that runs it — runs
 * on the machine's other core while the main thread loads the gateway's modules and builds the
 * schema (main.ts starts it before importing app.ts). The worker only executes wire-protocol
 * messages; everything else (building and parsing messages, types, transactions, LISTEN) stays on
 * the main thread in PGlite's own code (pglite-remote.ts).
 *
 * This module must stay light: main.ts loads it before anything else. It does not import PGlite;
 * the worker does.
 *
 * The worker's code is a CommonJS string run with `eval: true`, not a file: the same code runs
 * from the TypeScript sources (tests, tsx), from dist/ and from the bundle (scripts/
 * bundle-gateway.mjs), where a worker file's path relative to this module would differ.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';

/**
 * Postgres's default shared_buffers (128 MB) is allocated and zeroed inside PGlite's WebAssembly
 * memory at every open: about 0.2 s of CPU and 120 MB of resident memory that an embedded
 * database of a demo or a test suite never fills (2,048 pages of 8 KB hold far more than its
 * hot rows). Measured: RSS after open 300 → 175 MB (bench/README.md "Idle memory").
 */
export const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB'];

/**
 * V8 recompiles a WebAssembly function with its optimizing compiler once it has run about this
 * many bytes of code (the default is 1,800,000). PGlite's start runs enough of Postgres to send
 * hundreds of its functions there at once: about 1 s of CPU on V8's background threads during a
 * 0.5 s start, competing for the same two cores with the start itself. Eleven times the default
 * halves that and still optimizes what stays hot (measured: bench/README.md "Cold start").
 */
const WASM_TIERING_BUDGET = '--wasm-tiering-budget=20000000';

/** Requests: `raw` runs one wire-protocol message; `close` closes PGlite. */
export type WorkerRequest = { id: number; op: 'raw'; message: Uint8Array; syncToFs: boolean } | { id: number; op: 'sync' | 'close' };
/** Answers: `open` once (or `failed`), then one per request, by id. */
export type WorkerAnswer = { type: 'open' } | { type: 'failed'; message: string } | { id: number; data?: Uint8Array; error?: string };

// Only dynamic imports: an eval'd worker is CommonJS or an ES module depending on the process's
// flags (--input-type), and import() works in both.
const WORKER_CODE = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  let pg;
  try {
    const { PGlite } = await import(workerData.pglite);
    pg = await PGlite.create({ dataDir: workerData.dataDir, startParams: [...PGlite.defaultStartParams, ...workerData.settings] });
  } catch (err) {
    parentPort.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  parentPort.on('message', async (request) => {
    try {
      if (request.op === 'raw') {
        // PGlite hands out views of its WebAssembly memory: copied, then sent as one buffer.
        const chunks = [];
        let length = 0;
        await pg.execProtocolRawStream(request.message, { syncToFs: request.syncToFs, onRawData: (bytes) => { chunks.push(bytes.slice()); length += bytes.length; } });
        const data = chunks.length === 1 ? chunks[0] : new Uint8Array(length);
        if (chunks.length !== 1) { let at = 0; for (const chunk of chunks) { data.set(chunk, at); at += chunk.length; } }
        parentPort.postMessage({ id: request.id, data }, [data.buffer]);
      } else if (request.op === 'sync') {
        await pg.syncToFs();
        parentPort.postMessage({ id: request.id });
      } else if (request.op === 'close') {
        if (!pg.closed) await pg.close();
        parentPort.postMessage({ id: request.id });
      }
    } catch (err) {
      parentPort.postMessage({ id: request.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  parentPort.postMessage({ type: 'open' });
})();
`;

/** A PGlite being opened (or open) in a worker thread; pglite-remote.ts's RemotePGlite talks to it. */
export interface PgliteWorker {
  readonly dataDir: string;
  readonly worker: Worker;
  /** Settles when PGlite is open in the worker (rejects with its error). */
  readonly opened: Promise<void>;
  /** Stops the worker (closing nothing: RemotePGlite.close closes PGlite first) and unlocks the directory; idempotent. */
  stop(): Promise<void>;
}

/** Same rule as database.ts: only a plain path or `file://` is on disk (memory:// keeps nothing). */
export function pgliteDirOnDisk(dataDir: string): string | undefined {
  if (dataDir.includes('://') && !dataDir.startsWith('file://')) return undefined;
  return dataDir.startsWith('file://') ? dataDir.slice('file://'.length) : dataDir;
}

/**
 * Locks the data directory (before PGlite touches a file: data-dir-lock.ts) and starts opening
 * PGlite in a worker. Throws DataDirInUseError when another process holds the directory.
 */
export function startPgliteWorker(dataDir: string): PgliteWorker {
  const path = pgliteDirOnDisk(dataDir);
  let lock: DataDirLock | undefined;
  if (path !== undefined) {
    mkdirSync(path, { recursive: true });
    lock = lockDataDir(path);
  }
  // Process-wide and read when a module is instantiated, so set before the worker compiles PGlite.
  setFlagsFromString(WASM_TIERING_BUDGET);
  let worker: Worker;
  try {
    // Resolved here: the worker's code has no file of its own to resolve from.
    const pglite = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
    worker = new Worker(WORKER_CODE, { eval: true, workerData: { pglite, dataDir, settings: PGLITE_SETTINGS } });
  } catch (err) {
    lock?.release();
    throw err;
  }
  const opened = new Promise<void>((resolve, reject) => {
    const onMessage = (answer: WorkerAnswer) => {
      if (!('type' in answer)) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      if (answer.type === 'open') resolve();
      else reject(new Error(answer.message));
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
  // Not awaited here; whoever awaits it sees the error. This keeps an early failure from being unhandled.
  opened.catch(() => {});
  let stopped: Promise<void> | undefined;
  return {
    dataDir,
    worker,
    opened,
    stop: () =>
      (stopped ??= worker.terminate().then(
        () => lock?.release(),
        () => lock?.release(),
      )),
  };
}
