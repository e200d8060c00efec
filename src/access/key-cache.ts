/**
 * The run-time keys every request is checked against, held in memory: a bearer is found by its
 * SHA-256, with no database round trip on the request path.
 *
 * - At start, every key not revoked is loaded; then the cache LISTENs on API_KEY_CHANNEL and
 *   reloads whenever any instance creates or revokes a key (and after the LISTEN reconnects, and
 *   every `refreshIntervalMs` as a safety net), so a revoked key stops working everywhere within
 *   a notification's delay.
 * - Expiry is checked at each lookup, so an expired key fails at once, whatever the cache holds.
 * - Use is recorded in memory and written in the background every `touchIntervalMs`, at most
 *   once a minute per key: `lastUsedAt` is a hint, not an audit log, and never slows a request.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Scope } from '../config.js';
import type { ApiKeyRow } from '../db/schema.js';
import type { ListenSource } from '../events/postgres-bus.js';
import { errorSummary } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { Reloader } from '../events/reloader.js';
import { API_KEY_CHANNEL, type ApiKeyStore } from './key-store.js';

export interface LiveKey {
  readonly id: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly expiresAt: Date | null;
  /** The merchant the key is bound to; null: gateway-wide. */
  readonly merchantId: string | null;
}

export interface ApiKeyCacheOptions {
  store: ApiKeyStore;
  listener: ListenSource;
  log?: Logger;
  /** How often recorded use is written (default 5000 ms). */
  touchIntervalMs?: number;
  /** Safety-net full reload period (default 30000 ms; 0: off). */
  refreshIntervalMs?: number;
}

/** `lastUsedAt` is written at most this often per key. */
export const TOUCH_EVERY_MS = 60_000;

export class ApiKeyCache {
  readonly #store: ApiKeyStore;
  readonly #log: Logger | undefined;
  /** By key_hash (hex). */
  #byHash = new Map<string, LiveKey & { hash: Buffer }>();
  #byId = new Map<string, LiveKey>();
  /** Key id → when its use was last queued for writing. */
  readonly #touched = new Map<string, number>();
  #pendingTouch = new Set<string>();
  readonly #reloader: Reloader;
  #touchTimer: NodeJS.Timeout | undefined;
  #closed = false;

  readonly #listener: ListenSource;
  readonly #touchIntervalMs: number;
  readonly #refreshIntervalMs: number;

  /** Holds nothing until start(): every bearer is unknown meanwhile. */
  constructor(options: ApiKeyCacheOptions) {
    this.#store = options.store;
    this.#listener = options.listener;
    this.#log = options.log;
    this.#touchIntervalMs = options.touchIntervalMs ?? 5000;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 30_000;
    this.#reloader = new Reloader(
      async () => this.#replace(await this.#store.loadLive()),
      // The keys held stay in force meanwhile.
      (err) => this.#log?.warn({ err: errorSummary(err) }, 'could not reload API keys'),
    );
  }

  /** LISTENs, loads the live keys, and starts the background timers. */
  async start(): Promise<void> {
    await this.#reloader.listen(this.#listener, API_KEY_CHANNEL);
    // After LISTEN: a change committed meanwhile is in this read or rings the bell again.
    await this.reload();
    this.#reloader.every(this.#refreshIntervalMs);
    if (this.#touchIntervalMs > 0) {
      this.#touchTimer = setInterval(() => void this.flushUse(), this.#touchIntervalMs);
      this.#touchTimer.unref();
    }
  }

  /** The live key whose text hashes to `hashHex`, recording its use; undefined if none or expired. */
  lookup(hashHex: string, presented: Buffer, now = Date.now()): LiveKey | undefined {
    const found = this.#byHash.get(hashHex);
    if (!found || !timingSafeEqual(found.hash, presented) || isExpired(found, now)) return undefined;
    const last = this.#touched.get(found.id);
    if (last === undefined || now - last >= TOUCH_EVERY_MS) {
      this.#touched.set(found.id, now);
      this.#pendingTouch.add(found.id);
    }
    return found;
  }

  /** True while the key with this id is known, not revoked and not expired. */
  isLive(id: string, now = Date.now()): boolean {
    const key = this.#byId.get(id);
    return key !== undefined && !isExpired(key, now);
  }

  /** True when `id` names a run-time key this cache has seen live (env keys are never here). */
  knows(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Reads the live keys again (coalesced: see events/reloader.ts). */
  reload(): Promise<void> {
    return this.#reloader.reload();
  }

  #replace(rows: readonly ApiKeyRow[]): void {
    const byHash = new Map<string, LiveKey & { hash: Buffer }>();
    const byId = new Map<string, LiveKey>();
    for (const row of rows) {
      const key = { id: row.id, scopes: new Set(row.scopes as Scope[]), expiresAt: row.expiresAt, merchantId: row.merchantId, hash: Buffer.from(row.keyHash, 'hex') };
      byHash.set(row.keyHash, key);
      byId.set(row.id, key);
    }
    this.#byHash = byHash;
    this.#byId = byId;
    // Keys gone from the table's live set need no more throttling of their use.
    for (const id of this.#touched.keys()) if (!byId.has(id)) this.#touched.delete(id);
  }

  /** Writes the recorded use (background; also at close). */
  async flushUse(): Promise<void> {
    if (this.#pendingTouch.size === 0) return;
    const ids = [...this.#pendingTouch];
    this.#pendingTouch = new Set();
    try {
      await this.#store.touch(ids, new Date());
    } catch (err) {
      this.#log?.warn({ err: errorSummary(err) }, 'could not record API key use');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#touchTimer) clearInterval(this.#touchTimer);
    await this.#reloader.close();
    await this.flushUse();
  }
}

function isExpired(key: LiveKey, now: number): boolean {
  return key.expiresAt !== null && key.expiresAt.getTime() <= now;
}
