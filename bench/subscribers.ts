/**
 * Many WebSocket subscribers in the driver process. `graphql-ws` speaks graphql-transport-ws to
 * the gateway (connection_init, then one `subscribe`); `raw` just connects (the baseline). Each
 * message is timestamped on arrival, before any parsing, and matched by the merOrderId it names.
 */
import { WebSocket } from 'ws';
import { STATUS_SUBSCRIPTION } from './documents.js';

export type SubscriberProtocol = 'graphql-ws' | 'raw';

export class Subscribers {
  readonly #sockets: WebSocket[] = [];
  #expect: string | undefined;
  #arrived: Float64Array = new Float64Array(0);
  #pending = 0;
  #onAll: (() => void) | undefined;

  constructor(
    private readonly url: string,
    private readonly protocol: SubscriberProtocol,
    private readonly mid: string,
  ) {}

  get size(): number {
    return this.#sockets.length;
  }

  /** Opens `n` more subscribers, `batch` connections at a time. */
  async open(n: number, batch = 100): Promise<void> {
    for (let done = 0; done < n; done += batch) {
      const wave = Math.min(batch, n - done);
      await Promise.all(Array.from({ length: wave }, () => this.#openOne()));
    }
  }

  /** Closes the last `n` subscribers (all by default). */
  async close(n = this.#sockets.length): Promise<void> {
    const closing = this.#sockets.splice(this.#sockets.length - n, n);
    await Promise.all(
      closing.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            socket.once('close', () => resolve());
            socket.close(1000);
          }),
      ),
    );
  }

  /**
   * Runs `trigger` (the notification POST) and resolves with each subscriber's delay, in ms from
   * just before the trigger to the arrival of the first message naming `merOrderId`.
   */
  async receipts(merOrderId: string, trigger: () => Promise<void>, timeoutMs = 10_000): Promise<number[]> {
    const count = this.#sockets.length;
    this.#arrived = new Float64Array(count).fill(Number.NaN);
    this.#pending = count;
    this.#expect = merOrderId;
    const all = new Promise<void>((resolve) => (this.#onAll = resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const start = performance.now();
    await trigger();
    await Promise.race([all, timeout]);
    clearTimeout(timer);
    this.#expect = undefined;
    const delays = Array.from(this.#arrived, (t) => t - start);
    const missing = delays.filter((d) => Number.isNaN(d)).length;
    if (missing > 0) throw new Error(`${missing} of ${count} subscribers did not hear about ${merOrderId} within ${timeoutMs} ms`);
    return delays;
  }

  #receive(index: number, data: Buffer): void {
    const at = performance.now();
    const expect = this.#expect;
    if (expect === undefined || !Number.isNaN(this.#arrived[index] as number)) return;
    if (!data.toString('utf8').includes(expect)) return;
    this.#arrived[index] = at;
    if (--this.#pending === 0) this.#onAll?.();
  }

  #openOne(): Promise<void> {
    const wsUrl = `${this.url.replace(/^http/, 'ws')}/graphql`;
    const socket = this.protocol === 'graphql-ws' ? new WebSocket(wsUrl, 'graphql-transport-ws') : new WebSocket(wsUrl);
    const index = this.#sockets.length;
    this.#sockets.push(socket);
    return new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () => {
        if (this.protocol === 'raw') {
          socket.on('message', (data: Buffer) => this.#receive(index, data));
          return resolve();
        }
        socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
        socket.once('message', (data: Buffer) => {
          const message = JSON.parse(data.toString('utf8')) as { type?: string };
          if (message.type !== 'connection_ack') return reject(new Error(`expected connection_ack, got ${data.toString('utf8').slice(0, 200)}`));
          socket.on('message', (next: Buffer) => this.#receive(index, next));
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { operationName: 'Changes', query: STATUS_SUBSCRIPTION, variables: { mid: this.mid } } }));
          resolve();
        });
      });
    });
  }
}
