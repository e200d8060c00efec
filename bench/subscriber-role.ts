/**
 * A load-generator process for the fan-out figures: it holds many WebSocket subscribers (to one or
 * more servers), timestamps each message on arrival, before any parsing, and reports the arrival
 * times to the driver. Several of these run at once (fanout.ts), so that 10,000 sockets are not
 * read by one event loop: a single process would be the bottleneck and its timestamps would
 * measure its own queue.
 *
 * Times are `process.hrtime` (CLOCK_MONOTONIC), which every process on the machine reads from the
 * same clock: the driver's "just before the POST" and this process's "arrived" are comparable.
 * (`performance.now()` is relative to each process's own start, so it is not.)
 *
 * `graphql-ws` speaks graphql-transport-ws (connection_init, then one `subscribe`); `raw` only
 * connects. A socket's first matching message after `arm` is its receipt.
 */
import { WebSocket } from 'ws';
import type { RunningRole } from './child.js';
import { STATUS_SUBSCRIPTION } from './documents.js';

export type SubscriberProtocol = 'graphql-ws' | 'raw';

/** Milliseconds on the machine-wide monotonic clock, to the microsecond. */
export const clockMs = (): number => Number(process.hrtime.bigint() / 1000n) / 1000;

export interface OpenArgs {
  /** http://host:port of the server; the sockets go to its /graphql. */
  url: string;
  protocol: SubscriberProtocol;
  mid: string;
  count: number;
}

export interface CloseArgs {
  url: string;
  count: number;
}

export interface ArmArgs {
  /** The merOrderId the next messages must name. */
  expect: string;
  /** The servers whose sockets take part in this round (the others belong to another side). */
  urls: string[];
}

/** Per server URL, the arrival time (clockMs) of each socket taking part; null: none arrived. */
export type Arrivals = Record<string, (number | null)[]>;

interface Subscriber {
  url: string;
  socket: WebSocket;
  /** Whether this socket takes part in the current round. */
  armed: boolean;
  arrived: number;
}

export function startSubscriberRole(): RunningRole {
  const subscribers: Subscriber[] = [];
  let expect: string | undefined;
  let pending = 0;
  let onAll: (() => void) | undefined;

  const receive = (subscriber: Subscriber, data: Buffer): void => {
    const at = clockMs();
    if (expect === undefined || !subscriber.armed || !Number.isNaN(subscriber.arrived)) return;
    if (!data.toString('utf8').includes(expect)) return;
    subscriber.arrived = at;
    if (--pending === 0) onAll?.();
  };

  const openOne = (args: OpenArgs): Promise<void> => {
    const wsUrl = `${args.url.replace(/^http/, 'ws')}/graphql`;
    const socket = args.protocol === 'graphql-ws' ? new WebSocket(wsUrl, 'graphql-transport-ws') : new WebSocket(wsUrl);
    const subscriber: Subscriber = { url: args.url, socket, armed: false, arrived: Number.NaN };
    subscribers.push(subscriber);
    return new Promise<void>((resolve, reject) => {
      // Before `open`, an error fails the open; after it, a reset must not end this process.
      socket.on('error', (err) => reject(err));
      socket.once('open', () => {
        if (args.protocol === 'raw') {
          socket.on('message', (data: Buffer) => receive(subscriber, data));
          return resolve();
        }
        socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
        socket.once('message', (data: Buffer) => {
          const message = JSON.parse(data.toString('utf8')) as { type?: string };
          if (message.type !== 'connection_ack') return reject(new Error(`expected connection_ack, got ${data.toString('utf8').slice(0, 200)}`));
          socket.on('message', (next: Buffer) => receive(subscriber, next));
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { operationName: 'Changes', query: STATUS_SUBSCRIPTION, variables: { mid: args.mid } } }));
          resolve();
        });
      });
    });
  };

  const closeSockets = (closing: Subscriber[]): Promise<unknown> =>
    Promise.all(
      closing.map(
        ({ socket }) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            socket.once('close', () => resolve());
            socket.close(1000);
          }),
      ),
    );

  return {
    url: '',
    commands: {
      /** Opens `count` more subscribers to `url`, 50 connections at a time. */
      open: async (raw) => {
        const args = raw as OpenArgs;
        for (let done = 0; done < args.count; done += 50) {
          await Promise.all(Array.from({ length: Math.min(50, args.count - done) }, () => openOne(args)));
        }
        return subscribers.length;
      },
      /** Closes the last `count` subscribers to `url` (not `close`: that one ends the process, child.ts). */
      drop: async (raw) => {
        const args = raw as CloseArgs;
        const closing: Subscriber[] = [];
        for (let i = subscribers.length - 1; i >= 0 && closing.length < args.count; i--) {
          const subscriber = subscribers[i] as Subscriber;
          if (subscriber.url !== args.url) continue;
          closing.push(subscriber);
          subscribers.splice(i, 1);
        }
        await closeSockets(closing);
        return subscribers.length;
      },
      /** From now on, the first message naming `expect` on each socket is its receipt. */
      arm: async (raw) => {
        const args = raw as ArmArgs;
        expect = args.expect;
        pending = 0;
        for (const subscriber of subscribers) {
          subscriber.arrived = Number.NaN;
          subscriber.armed = args.urls.includes(subscriber.url);
          if (subscriber.armed) pending++;
        }
        return pending;
      },
      /** Waits for every socket's receipt (or `timeoutMs`), then reports the arrival times. */
      collect: async (raw) => {
        const { timeoutMs } = raw as { timeoutMs: number };
        if (pending > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([new Promise<void>((resolve) => (onAll = resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
          clearTimeout(timer);
          onAll = undefined;
        }
        expect = undefined;
        const arrivals: Arrivals = {};
        for (const s of subscribers) if (s.armed) (arrivals[s.url] ??= []).push(Number.isNaN(s.arrived) ? null : s.arrived);
        return arrivals;
      },
    },
    close: async () => {
      await closeSockets(subscribers.splice(0));
    },
  };
}
