/**
 * src/graphql/shared-execution.ts: subscribers that ask the same thing with the same rights share
 * one execution per event; anything that may change the result (the document, the variables, the
 * rights, a different event) gets an execution of its own. A real graphql-js schema counts how
 * often its field resolver runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from 'graphql';
import { subscribeSharingResults } from '../../src/graphql/shared-execution.js';
import { pgliteDatabase, type TestDatabase } from '../support/db.js';
import { newOrder, pay } from './fixtures.js';
import { collect, countingDatabase, startGateway, wsClient, type TestGateway } from './harness.js';

interface Event {
  text: string;
}

/** A schema whose `changed` subscription yields the events pushed to every open stream. */
function harness() {
  const streams = new Set<(event: Event) => void>();
  let resolved = 0;
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        changed: {
          type: GraphQLString,
          args: { prefix: { type: GraphQLString } },
          subscribe: () => {
            const queue: Event[] = [];
            let wake: (() => void) | undefined;
            streams.add((event) => {
              queue.push(event);
              wake?.();
            });
            return (async function* () {
              for (;;) {
                if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
                yield queue.shift() as Event;
              }
            })();
          },
          resolve: (event: Event, args: { prefix?: string | null }) => {
            resolved += 1;
            return `${args.prefix ?? ''}${event.text}`;
          },
        },
      },
    }),
  });
  return { schema, publish: (event: Event) => streams.forEach((push) => push(event)), resolved: () => resolved };
}

async function open(h: ReturnType<typeof harness>, query: ReturnType<typeof parse>, variables: Record<string, unknown>, rights: string) {
  const result = await subscribeSharingResults({ schema: h.schema, document: query, variableValues: variables }, rights);
  if (!(Symbol.asyncIterator in result)) throw new Error(`not a stream: ${JSON.stringify(result)}`);
  return result as AsyncIterableIterator<ExecutionResult>;
}

it('runs one execution per event for subscribers asking the same thing with the same rights', async () => {
  const h = harness();
  const document = parse('subscription S($prefix: String) { changed(prefix: $prefix) }');
  const subscribers = await Promise.all([1, 2, 3].map(() => open(h, document, { prefix: '>' }, 'key:read')));

  const pending = subscribers.map((s) => s.next());
  h.publish({ text: 'paid' });
  const results = await Promise.all(pending);
  expect(results.map((r) => r.value)).toEqual([1, 2, 3].map(() => ({ data: { changed: '>paid' } })));
  expect(h.resolved()).toBe(1);

  // Another event: executed again, once.
  const again = subscribers.map((s) => s.next());
  h.publish({ text: 'refunded' });
  expect((await Promise.all(again)).map((r) => r.value)).toEqual([1, 2, 3].map(() => ({ data: { changed: '>refunded' } })));
  expect(h.resolved()).toBe(2);
  for (const s of subscribers) await s.return?.();
});

it('executes separately for other variables, another document or other rights', async () => {
  const h = harness();
  const document = parse('subscription S($prefix: String) { changed(prefix: $prefix) }');
  const same = await open(h, document, { prefix: '>' }, 'key:read');
  const otherVariables = await open(h, document, { prefix: '#' }, 'key:read');
  const otherDocument = await open(h, parse('subscription S($prefix: String) { changed(prefix: $prefix) }'), { prefix: '>' }, 'key:read');
  const otherRights = await open(h, document, { prefix: '>' }, 'key:read,write');
  const all = [same, otherVariables, otherDocument, otherRights];

  const pending = all.map((s) => s.next());
  h.publish({ text: 'paid' });
  expect((await Promise.all(pending)).map((r) => r.value)).toEqual([
    { data: { changed: '>paid' } },
    { data: { changed: '#paid' } },
    { data: { changed: '>paid' } },
    { data: { changed: '>paid' } },
  ]);
  expect(h.resolved()).toBe(4);
  for (const s of all) await s.return?.();
});

it('ends the source stream when the subscriber ends', async () => {
  const h = harness();
  const stream = await open(h, parse('subscription { changed }'), {}, 'open');
  await stream.return?.();
  expect(await stream.next()).toEqual({ value: undefined, done: true });
});

describe('over the WebSocket, with real keys', () => {
  const SUBSCRIPTION = `subscription Watch($id: ID) {
    paymentStatusChanged(merOrderId: $id) { status payment { merOrderId events { reason payload } } }
  }`;
  interface Watched {
    paymentStatusChanged: { status: string; payment: { merOrderId: string; events: { reason: string | null; payload: unknown }[] } };
  }
  let h: TestDatabase;
  let gw: TestGateway;
  let counter: ReturnType<typeof countingDatabase>;
  beforeAll(async () => {
    h = await pgliteDatabase();
    counter = countingDatabase(h.db);
    gw = await startGateway({ handle: h, db: counter.db, apiKeys: 'k_one:read,k_two:read,k_admin:admin' });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('gives each rights its own execution: two read keys share one, the admin key sees what they may not', async () => {
    const id = await newOrder(h.db);
    const clients = ['k_one', 'k_two', 'k_admin'].map((key) => wsClient(gw.wsUrl, { authorization: `Bearer ${key}` }).client);
    const subs = clients.map((client) => collect<Watched>(client, SUBSCRIPTION, { id }));
    for (const sub of subs) await sub.next(1); // the current state, read per subscriber
    counter.reset();

    await pay(h.db, id);
    for (const sub of subs) await sub.next(2);

    const [one, two, admin] = subs.map((sub) => sub.results[1]);
    // The read keys get the change, and FORBIDDEN for the admin-only payload.
    for (const result of [one, two]) {
      expect(result?.data?.paymentStatusChanged).toMatchObject({ status: 'TRADE_SUCCESS', payment: { merOrderId: id } });
      expect(result?.data?.paymentStatusChanged.payment.events.every((e) => e.payload === null)).toBe(true);
      expect(result?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(two).toEqual(one);
    // The admin key sees the payload.
    expect(admin?.errors).toBeUndefined();
    expect(admin?.data?.paymentStatusChanged.payment.events.at(-1)?.payload).toEqual({ status: 'TRADE_SUCCESS', merOrderId: id });
    // The events of the payment were read once per rights (read, admin), not once per subscriber,
    // and afresh for this change: an operation's loaders keep nothing between changes.
    expect(counter.count()).toBe(2);

    for (const sub of subs) sub.dispose();
    await Promise.all(clients.map((client) => client.dispose()));
  });
});
