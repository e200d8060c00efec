/**
 * graphql-ws `next` messages written straight to the socket for subscriptions whose source can
 * push (shared-execution.ts): one JSON encoding of each shared result per group of subscribers,
 * and per subscriber only the message's envelope around it. graphql-ws would encode the whole
 * message per subscriber (`stringifyMessage`: validate, JSON.stringify) and await each send.
 *
 * The message is byte for byte what graphql-ws sends: `{"id":…,"type":"next","payload":…}`, the
 * payload being the result with its errors masked (errors.ts), as websocket.ts's onNext does.
 *
 * Back-pressure: graphql-ws waited for each send to be flushed before taking the next result, so
 * a consumer that stopped reading fell behind in its stream (change-stream.ts ends it after
 * maxBuffered changes). Written directly, the unsent bytes pile up in the socket instead; past
 * MAX_UNSENT_BYTES the subscription ends with the same SUBSCRIBER_TOO_SLOW error.
 */
import type { ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import type { Logger } from '../log.js';
import { subscriberTooSlow } from './change-stream.js';
import { maskErrors } from './errors.js';
import type { SharedSubscription } from './shared-execution.js';

/** Unsent bytes one socket may hold before its subscriber counts as too slow (about 1,000 changes). */
export const MAX_UNSENT_BYTES = 1024 * 1024;

/** The same error as a stream that fell behind (change-stream.ts). */
export const tooSlow = subscriberTooSlow;

/** The `next` payload as graphql-ws sends it once websocket.ts's onNext has masked the errors. */
export function encodeResult(result: ExecutionResult, log: Logger): string {
  return JSON.stringify(result.errors ? { ...result, errors: maskErrors(result.errors, log) } : result);
}

/**
 * Switches `subscription` to push delivery on `socket` under operation `id`; nothing happens for a
 * source that cannot push. `open()` says whether graphql-ws still holds the operation (a client's
 * `complete` removes it before the stream is ended).
 */
export function pushFrames(subscription: SharedSubscription, socket: WebSocket, id: string, open: () => boolean, log: Logger): void {
  const envelope = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  subscription.pushTo(
    (payload) => {
      // graphql-ws's own send does nothing on a socket that is no longer open.
      if (socket.readyState !== socket.OPEN || !open()) return true;
      if (socket.bufferedAmount > MAX_UNSENT_BYTES) return false;
      socket.send(`${envelope}${payload}}`);
      return true;
    },
    (result) => encodeResult(result, log),
    tooSlow,
  );
}
