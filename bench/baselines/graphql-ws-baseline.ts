/**
 * The fan-out figures' baseline (CONTRACT.md "Benchmark results file (more figures)": "a bare
 * graphql-ws server"): node:http + ws + graphql-ws's own `useServer`, defaults throughout, over a
 * graphql-js schema with the fields the bench's subscription selects, and an in-memory pub/sub
 * (one queue per subscriber, as graphql-subscriptions' PubSub keeps).
 *
 * The store is figure 1's baseline store (form, MD5, one upsert). To reach the subscribers of
 * every instance on one Postgres, that same statement also `pg_notify`s the stored row (the
 * payload is the news, no re-read), and every instance LISTENs and publishes what it hears; so a
 * single instance's subscribers are reached through Postgres too, as the gateway's are. On
 * embedded PGlite (no server to share) the row is published in process.
 *
 * What it leaves out, by design: authorization, per-subscriber visibility, masking, limits, the
 * `after` replay, the initial state: the gateway's extra work is what the ratio shows.
 */
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import postgres from 'postgres';
import { WebSocketServer } from 'ws';
import type { RunningRole } from '../child.js';
import type { ChildSpec, SeedArgs } from '../ipc.js';
import { answer, closeServer, listen, readBody } from './http.js';
import { createBaselineTable, seedBaselineOrders, storeNotification, type StoredOrder } from './notify-store.js';
import { openRawSql } from './raw-sql.js';

const CHANNEL = 'bench_fanout_baseline';

const schema = buildSchema(`
  type Query { ok: Boolean }
  type Payment { merOrderId: ID! status: String! version: Int! totalAmount: Int! }
  type PaymentStatusChange { status: String! previousStatus: String source: String! at: String! payment: Payment! }
  type Subscription { paymentStatusChanged(mid: String): PaymentStatusChange! }
`);

type Event = { paymentStatusChanged: unknown };

/** One subscriber's queue: pushed by `publish`, pulled by graphql-js's subscribe. */
class Queue implements AsyncIterableIterator<Event> {
  readonly #values: Event[] = [];
  readonly #waiting: ((result: IteratorResult<Event>) => void)[] = [];
  #done = false;
  constructor(private readonly queues: Set<Queue>) {
    queues.add(this);
  }
  push(value: Event): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter({ value, done: false });
    else this.#values.push(value);
  }
  next(): Promise<IteratorResult<Event>> {
    const value = this.#values.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  return(): Promise<IteratorResult<Event>> {
    this.#done = true;
    this.queues.delete(this);
    for (const waiter of this.#waiting.splice(0)) waiter({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<Event> {
    return this;
  }
}

const eventOf = (row: StoredOrder): Event => ({
  paymentStatusChanged: {
    status: row.status,
    previousStatus: 'NEW_ORDER',
    source: 'NOTIFY',
    at: new Date(row.updated_at).toISOString(),
    payment: { merOrderId: row.mer_order_id, status: row.status, version: row.version, totalAmount: row.total_amount },
  },
});

export async function startGraphqlWsBaseline(spec: ChildSpec): Promise<RunningRole> {
  const sql = await openRawSql(spec.databaseUrl);
  await createBaselineTable(sql);
  const queues = new Set<Queue>();
  const publish = (row: StoredOrder) => {
    const event = eventOf(row);
    for (const queue of queues) queue.push(event);
  };
  const listener = spec.databaseUrl ? postgres(spec.databaseUrl, { max: 1, onnotice: () => {} }) : undefined;
  if (listener) await listener.listen(CHANNEL, (payload) => publish(JSON.parse(payload) as StoredOrder));

  const { server, url } = await listen((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const row = body === undefined ? undefined : await storeNotification(sql, body, undefined, listener ? CHANNEL : undefined);
        if (!row) return answer(res, 400, 'text/plain; charset=utf-8', 'FAILED');
        answer(res, 200, 'text/plain; charset=utf-8', 'SUCCESS');
        if (!listener) publish(row);
      } catch {
        answer(res, 503, 'text/plain; charset=utf-8', 'FAILED');
      }
    })();
  });
  const wss = new WebSocketServer({ server, path: '/graphql' });
  // An open subscription is a queue in the set: that is what `subscriptions` counts.
  const graphqlWs = useServer({ schema, roots: { subscription: { paymentStatusChanged: () => new Queue(queues) } } }, wss);
  return {
    url,
    commands: {
      seed: (args) => seedBaselineOrders(sql, args as SeedArgs),
      subscriptions: async () => queues.size,
    },
    close: async () => {
      await graphqlWs.dispose();
      await closeServer(server);
      await listener?.end({ timeout: 5 });
      await sql.close();
    },
  };
}
