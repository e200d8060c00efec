/**
 * The main thread's side of a PGlite running in a worker (pglite-worker.ts): a PGlite client
 * whose queries, transactions, type parsing and LISTEN are PGlite's own code (its BasePGlite
 * class, the base of PGlite itself), and whose wire-protocol messages are executed by the worker.
 * Drizzle, the migrator and database.ts use it exactly as they use a PGlite.
 *
 * What crosses the thread: each protocol message (a query is six: parse, describe, bind,
 * describe, execute, sync) and its raw answer bytes; the answer is parsed here, as PGlite parses
 * it, so errors are the same DatabaseError objects, and NOTIFY payloads (Postgres sends them in
 * the answer of the statement whose transaction committed them) reach listeners here.
 *
 * BasePGlite is not exported by name; it is the class PGlite extends (its .d.ts says so), taken
 * from PGlite's prototype chain. @electric-sql/pglite is pinned to an exact version;
 * test/db/pglite-remote.test.ts runs the driver's features through this class.
 */
import { Mutex, PGlite, messages, protocol, type ExecProtocolOptions, type ExecProtocolOptionsStream, type ExecProtocolResult, type Transaction } from '@electric-sql/pglite';
import type { PgliteWorker, WorkerAnswer, WorkerRequest } from './pglite-worker.js';

type BackendMessage = ExecProtocolResult['messages'][number];
type Unlisten = (tx?: Transaction) => Promise<void>;
/** A request before it is given its id. */
type Request = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/** The concrete part of BasePGlite (what PGlite inherits), as a constructor to extend. */
type BasePGliteClass = abstract new () => Pick<PGlite, 'query' | 'sql' | 'exec' | 'describeQuery' | 'transaction' | 'runExclusive' | 'serializers' | 'parsers' | '_initArrayTypes' | 'refreshArrayTypes'>;
const BasePGlite = Object.getPrototypeOf(PGlite) as BasePGliteClass;

/** PGlite's channel-name rule (LISTEN lowercases an unquoted name). */
function toPostgresName(channel: string): string {
  return channel.startsWith('"') && channel.endsWith('"') ? channel.slice(1, -1) : channel.toLowerCase();
}

export class RemotePGlite extends BasePGlite {
  readonly debug = 0 as const;
  readonly #pglite: PgliteWorker;
  readonly #pending = new Map<number, { resolve: (data: Uint8Array | undefined) => void; reject: (err: Error) => void }>();
  #nextId = 0;
  #failure: Error | undefined;
  #closing = false;
  #closed = false;
  #parser = new protocol.Parser();
  readonly #queryMutex = new Mutex();
  readonly #transactionMutex = new Mutex();
  readonly #listenMutex = new Mutex();
  readonly #listeners = new Map<string, Set<(payload: string) => void>>();

  private constructor(pglite: PgliteWorker) {
    super();
    this.#pglite = pglite;
    pglite.worker.on('message', (answer: WorkerAnswer) => {
      if (!('id' in answer)) return;
      const waiter = this.#pending.get(answer.id);
      this.#pending.delete(answer.id);
      if (answer.error !== undefined) waiter?.reject(new Error(`PGlite worker: ${answer.error}`));
      else waiter?.resolve(answer.data);
    });
    const fail = (err: Error) => {
      this.#failure ??= err;
      for (const waiter of this.#pending.values()) waiter.reject(err);
      this.#pending.clear();
    };
    pglite.worker.on('error', fail);
    pglite.worker.on('exit', (code) => fail(new Error(`PGlite worker exited (code ${code})`)));
  }

  /** Waits for PGlite to be open in the worker, then reads the array types as PGlite does at its start. */
  static async open(pglite: PgliteWorker): Promise<RemotePGlite> {
    await pglite.opened;
    const client = new RemotePGlite(pglite);
    await client._initArrayTypes();
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get ready(): boolean {
    return !this.#closing && !this.#closed;
  }

  #call(request: Request, transfer: ArrayBuffer[] = []): Promise<Uint8Array | undefined> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#pglite.worker.postMessage({ ...request, id }, transfer);
    });
  }

  async execProtocolRaw(message: Uint8Array, { syncToFs = true }: ExecProtocolOptions = {}): Promise<Uint8Array> {
    // A copy of its own: a serializer's message may be a view of a buffer it reuses.
    const own = message.slice();
    return (await this.#call({ op: 'raw', message: own, syncToFs }, [own.buffer])) ?? new Uint8Array(0);
  }

  async execProtocolRawStream(message: Uint8Array, { syncToFs = true, onRawData }: ExecProtocolOptionsStream): Promise<void> {
    onRawData(await this.execProtocolRaw(message, { syncToFs }));
  }

  async execProtocol(message: Uint8Array, options: ExecProtocolOptions = {}): Promise<ExecProtocolResult> {
    const data = await this.execProtocolRaw(message, { syncToFs: options.syncToFs ?? true });
    return { messages: this.#parse(data, options), data };
  }

  async execProtocolStream(message: Uint8Array, options: ExecProtocolOptions = {}): Promise<BackendMessage[]> {
    return this.#parse(await this.execProtocolRaw(message, { syncToFs: options.syncToFs ?? true }), options);
  }

  /** As PGlite parses an answer: the first error is kept (and thrown), notices and notifications are delivered. */
  #parse(data: Uint8Array, { throwOnError = true, onNotice }: ExecProtocolOptions): BackendMessage[] {
    const results: BackendMessage[] = [];
    let error: InstanceType<typeof messages.DatabaseError> | undefined;
    this.#parser.parse(data, (msg: BackendMessage) => {
      if (error) return;
      if (msg instanceof messages.DatabaseError) {
        if (throwOnError) error = msg;
      } else if (msg instanceof messages.NoticeMessage) {
        onNotice?.(msg);
      } else if (msg instanceof messages.NotificationResponseMessage) {
        // After the current synchronous code, as PGlite does.
        for (const listener of this.#listeners.get(msg.channel) ?? []) queueMicrotask(() => listener(msg.payload));
      }
      results.push(msg);
    });
    if (error) {
      this.#parser = new protocol.Parser();
      throw error;
    }
    return results;
  }

  async syncToFs(): Promise<void> {
    await this.#call({ op: 'sync' });
  }

  // COPY … FROM/TO a blob (PGlite's /dev/blob) is not supported across the thread; nothing here uses it.
  async _handleBlob(blob?: Blob): Promise<void> {
    if (blob) throw new Error('RemotePGlite: queries with a blob are not supported');
  }
  async _getWrittenBlob(): Promise<undefined> {
    return undefined;
  }
  async _cleanupBlob(): Promise<void> {}

  async _checkReady(): Promise<void> {
    if (this.#closing) throw new Error('PGlite is closing');
    if (this.#closed) throw new Error('PGlite is closed');
  }

  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queryMutex.runExclusive(fn);
  }

  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.#transactionMutex.runExclusive(fn);
  }

  async listen(channel: string, callback: (payload: string) => void, tx?: Transaction): Promise<Unlisten> {
    return this.#listenMutex.runExclusive(async () => {
      const name = toPostgresName(channel);
      const listeners = this.#listeners.get(name) ?? new Set();
      this.#listeners.set(name, listeners);
      listeners.add(callback);
      try {
        await (tx ?? this).exec(`LISTEN ${channel}`);
      } catch (err) {
        listeners.delete(callback);
        if (listeners.size === 0) this.#listeners.delete(name);
        throw err;
      }
      return (unlistenTx?: Transaction) => this.#unlisten(name, channel, callback, unlistenTx);
    });
  }

  #unlisten(name: string, channel: string, callback: (payload: string) => void, tx?: Transaction): Promise<void> {
    return this.#listenMutex.runExclusive(async () => {
      const listeners = this.#listeners.get(name);
      listeners?.delete(callback);
      if (listeners?.size !== 0) return;
      await (tx ?? this).exec(`UNLISTEN ${channel}`);
      // Another listener may have come while UNLISTEN ran.
      if (this.#listeners.get(name)?.size === 0) this.#listeners.delete(name);
    });
  }

  /** Waits for running queries and transactions, closes PGlite in the worker, stops the worker; idempotent. */
  async close(): Promise<void> {
    if (this.#closed || this.#closing) return;
    await this.#transactionMutex.runExclusive(() => this.#queryMutex.runExclusive(async () => (this.#closing = true)));
    try {
      await this.#call({ op: 'close' });
    } finally {
      this.#closed = true;
      this.#closing = false;
      await this.#pglite.stop();
    }
  }
}
