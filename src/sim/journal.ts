/**
 * The simulator's own store on disk: one JSON line per saved order, appended whenever an order
 * changes; on start the last line of each order wins and the file is rewritten with just those
 * (compaction), and again whenever the appended lines far outnumber the orders.
 *
 * It stands for another company's system, so it never lives in the gateway's database: the file
 * sits beside the gateway's data directory, and an `npm start` restart finds the same orders (QR
 * links, refunds and queries of old payments keep working). Writes are synchronous appends of a
 * few hundred bytes: simple, ordered, and enough for a simulator.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { channelFor } from './channels.js';
import type { SimOrder } from './types.js';

/** Fields of an order (and of its history and refunds) that hold instants. */
const DATE_FIELDS = new Set(['createdAt', 'expiresAt', 'payTime', 'at', 'refundPayTime', 'settlesAt']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export class OrderJournal {
  #lines = 0;

  constructor(readonly path: string) {}

  /** The orders saved so far (the last copy of each), compacting the file. Unreadable lines are skipped. */
  load(): SimOrder[] {
    if (!existsSync(this.path)) return [];
    const latest = new Map<string, SimOrder>();
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      const order = line.trim() === '' ? undefined : parse(line);
      if (order) latest.set(order.merOrderId, order);
    }
    const orders = [...latest.values()];
    this.compact(orders);
    return orders;
  }

  /** Saves the order as it now stands. */
  append(order: SimOrder, orderCount: number): void {
    this.#ensureDir();
    appendFileSync(this.path, `${serialise(order)}\n`);
    this.#lines++;
    if (this.#lines > Math.max(1_000, 4 * orderCount)) this.#needsCompaction = true;
  }

  /** True once the file holds many more lines than orders: the store then calls compact(). */
  #needsCompaction = false;
  get needsCompaction(): boolean {
    return this.#needsCompaction;
  }

  /** Rewrites the file with exactly these orders (write aside, then rename: never half a file). */
  compact(orders: readonly SimOrder[]): void {
    this.#ensureDir();
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, orders.map((o) => `${serialise(o)}\n`).join(''));
    renameSync(tmp, this.path);
    this.#lines = orders.length;
    this.#needsCompaction = false;
  }

  #ensureDir(): void {
    mkdirSync(dirname(this.path), { recursive: true });
  }
}

function serialise(order: SimOrder): string {
  // The channel is a shared description: saved by its identity, found again on load.
  return JSON.stringify({ ...order, channel: { method: order.channel.method, path: order.channel.path } });
}

function parse(line: string): SimOrder | undefined {
  try {
    const raw = JSON.parse(line, (key, value: unknown) => (DATE_FIELDS.has(key) && typeof value === 'string' && ISO.test(value) ? new Date(value) : value)) as Record<string, unknown>;
    const ref = raw.channel as { method?: unknown; path?: unknown } | undefined;
    const channel = typeof ref?.method === 'string' && typeof ref.path === 'string' ? channelFor(ref.method, ref.path) : undefined;
    if (!channel || typeof raw.merOrderId !== 'string') return undefined;
    return { ...raw, channel } as unknown as SimOrder;
  } catch {
    return undefined;
  }
}
