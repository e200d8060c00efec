/**
 * Keeps an in-memory copy of a table fresh (run-time API keys, merchants): reload on every NOTIFY
 * of its channel, after each LISTEN reconnection (notifications may have been missed), and on a
 * safety-net timer. Reloads are coalesced: calls during a round share it, and a call that arrives
 * while a round reads schedules exactly one more, so the last change is always read.
 */
import type { ListenSource } from './postgres-bus.js';

export class Reloader {
  readonly #load: () => Promise<void>;
  readonly #onError: (err: unknown) => void;
  #dirty = false;
  #reloading: Promise<void> | undefined;
  #subscription: { close(): Promise<void> } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `load` reads and replaces the copy; when it fails, `onError` is told and the copy held stays in force. */
  constructor(load: () => Promise<void>, onError: (err: unknown) => void) {
    this.#load = load;
    this.#onError = onError;
  }

  /** LISTENs on `channel`: each notification, and each reconnection after the first, reloads. */
  async listen(listener: ListenSource, channel: string): Promise<void> {
    let listens = 0;
    this.#subscription = await listener.listen(
      channel,
      () => void this.reload(),
      () => {
        listens += 1;
        if (listens > 1) void this.reload();
      },
    );
  }

  /** Reloads every `ms` as well (0: never). */
  every(ms: number): void {
    if (ms <= 0) return;
    this.#timer = setInterval(() => void this.reload(), ms);
    this.#timer.unref();
  }

  reload(): Promise<void> {
    this.#dirty = true;
    this.#reloading ??= this.#rounds().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #rounds(): Promise<void> {
    while (this.#dirty && !this.#closed) {
      this.#dirty = false;
      try {
        await this.#load();
      } catch (err) {
        // The next notification or the safety net reloads.
        this.#onError(err);
        return;
      }
    }
  }

  /** Stops listening and the timer, and waits for a round under way. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#subscription?.close();
    await this.#reloading;
  }
}
