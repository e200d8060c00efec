/**
 * A real local HTTP receiver of webhooks for the tests: records every request (headers, body,
 * when it started and ended) and answers as the test says (a status, or hanging past a timeout).
 * It also counts requests in flight per webhook-id, to show one attempt is never sent twice at once.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  startedAt: number;
}

export type Answer = { status: number } | { hang: true };

export class Receiver {
  readonly received: Received[] = [];
  /** Most requests with one webhook-id seen in flight at the same moment. */
  maxConcurrentPerId = 0;
  /** Most requests in flight at the same moment, whatever their id. */
  maxInFlight = 0;
  #open = 0;
  answer: (request: Received, index: number) => Answer | Promise<Answer> = () => ({ status: 200 });
  readonly #inFlight = new Map<string, number>();
  #server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const id = String(req.headers['webhook-id'] ?? '');
        const got: Received = { id, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), startedAt: Date.now() };
        const index = this.received.push(got) - 1;
        const now = (this.#inFlight.get(id) ?? 0) + 1;
        this.#inFlight.set(id, now);
        this.maxConcurrentPerId = Math.max(this.maxConcurrentPerId, now);
        this.#open += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.#open);
        const done = () => {
          this.#open -= 1;
          this.#inFlight.set(id, (this.#inFlight.get(id) ?? 1) - 1);
        };
        res.on('close', done);
        void Promise.resolve(this.answer(got, index)).then((answer) => {
          if ('hang' in answer) return;
          res.statusCode = answer.status;
          res.end('ok');
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** The parsed bodies of requests answered 2xx (by the answer function's choice), in arrival order. */
  bodies(): { id: string; body: WebhookBody }[] {
    return this.received.map((r) => ({ id: r.id, body: JSON.parse(r.body) as WebhookBody }));
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface WebhookBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown> & { merOrderId: string; status: string; version: number };
}
