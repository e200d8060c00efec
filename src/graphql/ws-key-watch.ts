/**
 * Open WebSockets of run-time keys, closed with 4403 Forbidden once their key is revoked or
 * expires. A connection's key is checked once, in connection_init; this watch checks again every
 * `intervalMs` against the key cache (memory only, no query), so a revocation heard from any
 * instance ends the key's sockets here within the notification's delay plus one period.
 */
import type { ApiKeyCache } from '../access/key-cache.js';

/** What is needed of a socket: `ws`'s close, and its close event. */
export interface WatchedSocket {
  close(code: number, reason: string): void;
  once(event: 'close', listener: () => void): unknown;
}

export const KEY_REVOKED_CLOSE_CODE = 4403;

export class WebSocketKeyWatch {
  readonly #cache: ApiKeyCache;
  readonly #intervalMs: number;
  readonly #byKey = new Map<string, Set<WatchedSocket>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(cache: ApiKeyCache, intervalMs = 1000) {
    this.#cache = cache;
    this.#intervalMs = intervalMs;
  }

  /** Watches `socket` while it is open, when `keyId` is a run-time key (env keys cannot be revoked). */
  add(keyId: string, socket: WatchedSocket): void {
    if (!this.#cache.knows(keyId)) return;
    let sockets = this.#byKey.get(keyId);
    if (!sockets) this.#byKey.set(keyId, (sockets = new Set()));
    sockets.add(socket);
    socket.once('close', () => this.#forget(keyId, socket));
    if (!this.#timer) {
      this.#timer = setInterval(() => this.sweep(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Closes the sockets of every key no longer live. */
  sweep(now = Date.now()): void {
    for (const [keyId, sockets] of this.#byKey) {
      if (this.#cache.isLive(keyId, now)) continue;
      this.#byKey.delete(keyId);
      for (const socket of sockets) socket.close(KEY_REVOKED_CLOSE_CODE, 'Forbidden');
    }
    this.#idle();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #forget(keyId: string, socket: WatchedSocket): void {
    const sockets = this.#byKey.get(keyId);
    sockets?.delete(socket);
    if (sockets?.size === 0) this.#byKey.delete(keyId);
    this.#idle();
  }

  /** No timer while nothing is watched. */
  #idle(): void {
    if (this.#byKey.size === 0) this.stop();
  }
}
