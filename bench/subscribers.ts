/**
 * The driver's handle on the fan-out load generators: a few forked processes (subscriber-role.ts),
 * each holding its share of the WebSockets. Opening spreads the sockets evenly over the
 * processes; a round arms every process, takes the time just before its trigger (the notification
 * POST), and collects each socket's arrival time, all on the machine-wide monotonic clock.
 */
import { BenchChild } from './children.js';
import type { BenchContext } from './figure.js';
import { clockMs, type Arrivals, type SubscriberProtocol } from './subscriber-role.js';

export type { SubscriberProtocol };

export class SubscriberPool {
  readonly #processes: BenchChild[];
  /** How many sockets each process holds, per server URL. */
  readonly #held: Map<string, number>[];

  private constructor(processes: BenchChild[]) {
    this.#processes = processes;
    this.#held = processes.map(() => new Map());
  }

  static async start(context: BenchContext, processes: number): Promise<SubscriberPool> {
    const children = await Promise.all(Array.from({ length: processes }, () => BenchChild.start({ role: 'subscribers', ...(context.database.url ? { databaseUrl: context.database.url } : {}) })));
    return new SubscriberPool(children);
  }

  /** Sockets open to `url`, over all processes. */
  count(url: string): number {
    return this.#held.reduce((sum, held) => sum + (held.get(url) ?? 0), 0);
  }

  /** Opens `n` more subscribers to `url`, each to the process holding the fewest. */
  async open(url: string, protocol: SubscriberProtocol, mid: string, n: number): Promise<void> {
    const shares = this.#processes.map(() => 0);
    const total = (i: number) => [...(this.#held[i] as Map<string, number>).values()].reduce((a, b) => a + b, 0) + (shares[i] as number);
    for (let k = 0; k < n; k++) {
      let best = 0;
      for (let i = 1; i < shares.length; i++) if (total(i) < total(best)) best = i;
      shares[best] = (shares[best] as number) + 1;
    }
    await Promise.all(
      this.#processes.map(async (child, i) => {
        const count = shares[i] as number;
        if (count === 0) return;
        await child.call('open', { url, protocol, mid, count });
        const held = this.#held[i] as Map<string, number>;
        held.set(url, (held.get(url) ?? 0) + count);
      }),
    );
  }

  /** Closes `n` of the subscribers to `url` (all by default), taken from the processes holding most. */
  async close(url: string, n = this.count(url)): Promise<void> {
    const shares = this.#processes.map(() => 0);
    const left = (i: number) => ((this.#held[i] as Map<string, number>).get(url) ?? 0) - (shares[i] as number);
    for (let k = 0; k < n; k++) {
      let best = 0;
      for (let i = 1; i < shares.length; i++) if (left(i) > left(best)) best = i;
      if (left(best) <= 0) break;
      shares[best] = (shares[best] as number) + 1;
    }
    await Promise.all(
      this.#processes.map(async (child, i) => {
        const count = shares[i] as number;
        if (count === 0) return;
        await child.call('drop', { url, count });
        const held = this.#held[i] as Map<string, number>;
        held.set(url, (held.get(url) ?? 0) - count);
      }),
    );
  }

  /**
   * Runs `trigger` (the notification POST) and resolves with the delays of the sockets open to
   * each of `urls`, in ms from just before the trigger to the arrival of the first message naming
   * `merOrderId`.
   */
  async receipts(urls: string[], merOrderId: string, trigger: () => Promise<void>, timeoutMs = 15_000): Promise<Map<string, number[]>> {
    await Promise.all(this.#processes.map((child) => child.call('arm', { expect: merOrderId, urls })));
    const start = clockMs();
    await trigger();
    const all = await Promise.all(this.#processes.map((child) => child.call<Arrivals>('collect', { timeoutMs })));
    const delays = new Map<string, number[]>(urls.map((url) => [url, []]));
    let missing = 0;
    let count = 0;
    for (const arrivals of all) {
      for (const [url, times] of Object.entries(arrivals)) {
        const into = delays.get(url) as number[];
        for (const t of times) {
          count++;
          if (t === null) missing++;
          else into.push(t - start);
        }
      }
    }
    if (missing > 0) throw new Error(`${missing} of ${count} subscribers did not hear about ${merOrderId} within ${timeoutMs} ms`);
    return delays;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#processes.map((child) => child.stop()));
  }
}
