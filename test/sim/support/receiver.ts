/**
 * A merchant's notification endpoint for tests: a node:http server on port 0 that records every
 * POST (raw body and decoded fields) and answers what the test scripts (SUCCESS by default).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  contentType: string | undefined;
  body: string;
  fields: Record<string, string>;
}

export interface Receiver {
  url: string;
  received: Received[];
  /**
   * What to answer to the n-th request (0-based); default 200 SUCCESS. `after`: hold the answer
   * until that promise settles (a test's own event rather than a guessed delay).
   */
  answer: (n: number, r: Received) => { status?: number; body: string; delayMs?: number; after?: Promise<unknown> };
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const receiver: Receiver = {
    url: '',
    received,
    answer: () => ({ body: 'SUCCESS' }),
    // Generous: it only decides how long a test that is already failing hangs.
    waitFor(count, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= count) {
            clearTimeout(timer);
            resolve(received.slice());
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${count} notifications arrived`)), timeoutMs);
        const waiter = () => {
          if (!check()) waiters.push(waiter);
        };
        if (!check()) waiters.push(waiter);
      });
    },
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const fields: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(body)) if (!(k in fields)) fields[k] = v;
      const r: Received = { at: Date.now(), contentType: req.headers['content-type'], body, fields };
      const n = received.length;
      received.push(r);
      for (const w of waiters.splice(0)) w();
      const a = receiver.answer(n, r);
      const send = () => {
        res.writeHead(a.status ?? 200, { 'content-type': 'text/plain' });
        res.end(a.body);
      };
      if (a.after) {
        void a.after.then(send, send);
      } else if (a.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, a.delayMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify/ums`;
  return receiver;
}
