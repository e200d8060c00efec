/**
 * Push delivery of shared results (src/graphql/shared-execution.ts `pushTo`, src/graphql/ws-frames.ts):
 * a real graphql-js schema over real change streams (change-stream.ts) on an in-process bus.
 * Each group's result is encoded once; every subscriber gets its results in its stream's order,
 * even when an earlier change executes slower than a later one; a failing execution, or a socket
 * that cannot keep up, ends the subscriber's stream with the error graphql-ws then reports.
 */
import { describe, expect, it } from 'vitest';
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import { InProcessBus, type PaymentChange } from '../../src/events/bus.js';
import { changeStream, type StatusChangeValue } from '../../src/graphql/change-stream.js';
import { SharedSubscription, subscribeSharingResults } from '../../src/graphql/shared-execution.js';
import { encodeResult, MAX_UNSENT_BYTES, pushFrames, tooSlow } from '../../src/graphql/ws-frames.js';
import { createLogger } from '../../src/log.js';

/** A change of `merOrderId` to `version`; only what change-stream.ts and the schema read. */
function change(merOrderId: string, version: number, status = 'TRADE_SUCCESS'): PaymentChange {
  const at = new Date('2026-12-07T00:00:00Z');
  return {
    event: { id: version, txId: String(version), merOrderId, version, previousStatus: 'NEW_ORDER', status, source: 'NOTIFY', at },
    payment: { merOrderId, version, status, mid: 'M1' },
  } as unknown as PaymentChange;
}

/** `changed { version status }`, fed by the bus; `gate(version)` can hold a version's execution back. */
function harness(maxBuffered?: number) {
  const bus = new InProcessBus();
  const gates = new Map<number, Promise<void>>();
  let executions = 0;
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        changed: {
          type: new GraphQLObjectType({
            name: 'Changed',
            fields: { version: { type: GraphQLInt }, status: { type: GraphQLString } },
          }),
          subscribe: () => changeStream({ bus, accept: () => true, maxBuffered }),
          resolve: async (value: StatusChangeValue) => {
            executions += 1;
            if (value.status === 'BROKEN') throw new Error('database said no: secret detail');
            await gates.get(value.version);
            return { version: value.version, status: value.status };
          },
        },
      },
    }),
  });
  const document = parse('subscription { changed { version status } }');
  const open = async (rights = 'open') => {
    const stream = await subscribeSharingResults({ schema, document }, rights);
    if (!(stream instanceof SharedSubscription)) throw new Error(`not a stream: ${JSON.stringify(stream)}`);
    return stream;
  };
  return { bus, gates, open, executions: () => executions };
}

const log = createLogger('silent');
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedSubscription.pushTo', () => {
  it('encodes each change once per group and writes it to every subscriber', async () => {
    const h = harness();
    let encodings = 0;
    const encode = (result: ExecutionResult) => {
      encodings += 1;
      return JSON.stringify(result);
    };
    const written: string[][] = [[], [], []];
    const streams = await Promise.all(written.map(() => h.open()));
    streams.forEach((stream, i) => expect(stream.pushTo((frame) => (written[i]?.push(frame), true), encode, tooSlow)).toBe(true));

    h.bus.publish(change('A1', 2));
    h.bus.publish(change('A1', 3, 'REFUNDED'));
    await settle();
    for (const frames of written) {
      expect(frames.map((f) => JSON.parse(f))).toEqual([{ data: { changed: { version: 2, status: 'TRADE_SUCCESS' } } }, { data: { changed: { version: 3, status: 'REFUNDED' } } }]);
    }
    expect(h.executions()).toBe(2);
    expect(encodings).toBe(2);
    for (const stream of streams) await stream.return();
  });

  it("keeps each subscriber's order when an earlier change executes slower than a later one", async () => {
    const h = harness();
    let release = () => {};
    h.gates.set(2, new Promise<void>((resolve) => (release = resolve)));
    const frames: string[] = [];
    const stream = await h.open();
    stream.pushTo((frame) => (frames.push(frame), true), JSON.stringify, tooSlow);

    h.bus.publish(change('A1', 2));
    h.bus.publish(change('A1', 3));
    await settle();
    expect(frames).toEqual([]); // version 3 is ready, but 2 comes first
    release();
    await settle();
    expect(frames.map((f) => (JSON.parse(f) as { data: { changed: { version: number } } }).data.changed.version)).toEqual([2, 3]);
    await stream.return();
  });

  it('ends the stream with SUBSCRIBER_TOO_SLOW when the writer cannot take more', async () => {
    const h = harness();
    const stream = await h.open();
    stream.pushTo(() => false, JSON.stringify, tooSlow);
    const pending = stream.next();
    h.bus.publish(change('A1', 2));
    await expect(pending).rejects.toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW' } });
  });

  it('ends with SUBSCRIBER_TOO_SLOW when more than maxBuffered results wait behind a pending execution', async () => {
    const h = harness(3);
    h.gates.set(1, new Promise<void>(() => undefined)); // never settles
    const frames: string[] = [];
    const stream = await h.open();
    stream.pushTo((frame) => (frames.push(frame), true), JSON.stringify, tooSlow);
    const pending = stream.next();
    for (let version = 1; version <= 5; version++) h.bus.publish(change('A1', version));
    await expect(pending).rejects.toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW' } });
    expect(frames).toEqual([]);
    expect(h.bus.listenerCount).toBe(0);
  });

  it('ends the stream with the error, not an unhandled rejection, when encoding throws', async () => {
    const h = harness();
    const failing = (): string => {
      throw new Error('cannot encode');
    };
    const stream = await h.open();
    stream.pushTo(() => true, failing, tooSlow);
    const pending = stream.next();
    h.bus.publish(change('A1', 2));
    await expect(pending).rejects.toThrow('cannot encode');
    expect(h.bus.listenerCount).toBe(0);
  });

  it('writes nothing after the subscriber ended, not even a result that was still executing', async () => {
    const h = harness();
    let release = () => {};
    h.gates.set(2, new Promise<void>((resolve) => (release = resolve)));
    const frames: string[] = [];
    const stream = await h.open();
    stream.pushTo((frame) => (frames.push(frame), true), JSON.stringify, tooSlow);
    h.bus.publish(change('A1', 2));
    h.bus.publish(change('A1', 3));
    await settle();
    // graphql-ws completes the operation; the client may then reuse its id for a new one.
    await stream.return();
    release();
    await settle();
    await settle();
    expect(frames).toEqual([]);
  });

  it('ends when the subscriber ends, and then writes nothing more', async () => {
    const h = harness();
    const frames: string[] = [];
    const stream = await h.open();
    stream.pushTo((frame) => (frames.push(frame), true), JSON.stringify, tooSlow);
    const pending = stream.next();
    await stream.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    h.bus.publish(change('A1', 2));
    await settle();
    expect(frames).toEqual([]);
    expect(h.bus.listenerCount).toBe(0);
  });
});

describe('changeStream while the first state is being read', () => {
  it('ends with SUBSCRIBER_TOO_SLOW once more than maxBuffered changes arrived meanwhile', async () => {
    const bus = new InProcessBus();
    const stream = changeStream({ bus, accept: () => true, maxBuffered: 2, initial: () => new Promise(() => undefined) });
    const pending = stream.next();
    for (let version = 1; version <= 3; version++) bus.publish(change('A1', version));
    await expect(pending).rejects.toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW' } });
    expect(bus.listenerCount).toBe(0);
  });
});

describe('pushFrames (the WebSocket side)', () => {
  /** What pushFrames uses of a ws socket. */
  function fakeSocket(bufferedAmount = 0) {
    const sent: string[] = [];
    const socket = { OPEN: 1, readyState: 1, bufferedAmount, send: (data: string) => void sent.push(data) };
    return { socket: socket as unknown as WebSocket, sent, raw: socket };
  }

  it('writes the message graphql-ws would send, with errors masked as onNext masks them', async () => {
    const h = harness();
    const { socket, sent } = fakeSocket();
    const stream = await h.open();
    pushFrames(stream, socket, 'sub-"1"', () => true, log);
    h.bus.publish(change('A1', 2));
    h.bus.publish(change('A1', 3, 'BROKEN'));
    await settle();
    expect(sent).toHaveLength(2);
    const [ok, broken] = sent.map((s) => JSON.parse(s) as Record<string, unknown>);
    expect(ok).toEqual({ id: 'sub-"1"', type: 'next', payload: { data: { changed: { version: 2, status: 'TRADE_SUCCESS' } } } });
    // graphql-ws's own encoding of the same message, for the same (masked) payload:
    const result: ExecutionResult = { data: { changed: { version: 2, status: 'TRADE_SUCCESS' } } };
    expect(sent[0]).toBe(JSON.stringify({ id: 'sub-"1"', type: 'next', payload: JSON.parse(encodeResult(result, log)) }));
    expect(broken).toMatchObject({ id: 'sub-"1"', type: 'next', payload: { data: { changed: null }, errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] } });
    expect(sent[1]).not.toContain('secret detail');
    await stream.return();
  });

  it('sends nothing once graphql-ws no longer holds the operation, or the socket is not open', async () => {
    const h = harness();
    const { socket, sent, raw } = fakeSocket();
    let held = true;
    const stream = await h.open();
    pushFrames(stream, socket, '1', () => held, log);
    held = false;
    h.bus.publish(change('A1', 2));
    held = true;
    raw.readyState = 2; // CLOSING
    h.bus.publish(change('A1', 3));
    await settle();
    expect(sent).toEqual([]);
    await stream.return();
  });

  it('ends the subscription with SUBSCRIBER_TOO_SLOW when the socket holds too many unsent bytes', async () => {
    const h = harness();
    const { socket, sent } = fakeSocket(MAX_UNSENT_BYTES + 1);
    const stream = await h.open();
    pushFrames(stream, socket, '1', () => true, log);
    const pending = stream.next();
    h.bus.publish(change('A1', 2));
    await expect(pending).rejects.toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW' } });
    expect(sent).toEqual([]);
  });
});
