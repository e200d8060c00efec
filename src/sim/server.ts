/**
 * The simulator's HTTP server (node:http): reads each body as raw bytes (signatures cover the
 * exact bytes), authenticates Open API calls, applies API scenarios, and routes to the handlers,
 * the cashier page and the control endpoints.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createOrder, cashierUrl } from './api-create.js';
import { TOKEN_PATH, postHandler } from './api.js';
import { envelope } from './answer.js';
import { authenticate, checkFormParam, type AuthContext } from './auth.js';
import { handleCashier } from './cashier.js';
import { channelFor } from './channels.js';
import { handleControl } from './control.js';
import { SimRejection } from './errors.js';
import type { SimEngine } from './engine.js';
import type { ApiScenario } from './scenarios.js';
import { tokenAnswer } from './api-token.js';
import type { JsonObject } from './types.js';
import { unwrapData } from './validate.js';


const MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLarge extends Error {}

/** An answer before it is written: JSON, a redirect, or (simulated failures) plain text. */
interface Outcome {
  status: number;
  json?: Record<string, unknown>;
  location?: string;
  plain?: string;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, json: unknown): void {
  const text = JSON.stringify(json);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

function parseJsonObject(raw: Buffer): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new SimRejection('BAD_REQUEST', '报文格式错误: body is not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new SimRejection('BAD_REQUEST', '报文格式错误: body must be a JSON object');
  return value as JsonObject;
}

export class SimServer {
  readonly server: Server;
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(
    private readonly engine: SimEngine,
    private readonly auth: AuthContext,
  ) {
    this.server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        engine.log?.error({ err }, 'ums-sim: request failed');
        if (!res.headersSent) sendJson(res, 500, { errCode: 'INTERNAL_ERROR', errMsg: 'simulator error', errInfo: 'simulator error' });
        else res.destroy();
      });
    });
  }

  /** Ends pending slow answers and every open connection. */
  shutdown(): void {
    for (const s of this.#sleeps) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.#sleeps.clear();
    this.server.closeAllConnections();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.#sleeps.add(entry);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sim.local');
    const path = url.pathname;
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) return sendJson(res, 413, { errCode: 'BAD_REQUEST', errMsg: 'body too large', errInfo: 'body too large' });
      throw err;
    }

    if (path.startsWith('/_sim/cashier/')) return this.#cashier(method, path, res);
    if (path.startsWith('/_sim/')) {
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return sendJson(res, 400, { error: 'body is not JSON' });
        }
      }
      const answer = handleControl(this.engine, this.auth.tokens, method, path, url.searchParams, body);
      return sendJson(res, answer.status, answer.json);
    }

    if (method === 'POST' && path === TOKEN_PATH) {
      const run = (): Outcome => {
        try {
          return { status: 200, json: tokenAnswer(parseJsonObject(raw), this.auth) };
        } catch (err) {
          if (err instanceof SimRejection) {
            return { status: err.httpStatus === 200 ? 400 : err.httpStatus, json: { errCode: err.errCode, errInfo: err.message } };
          }
          throw err;
        }
      };
      // Token requests meet only scenarios aimed at this path: others are about business calls.
      return this.#finish(res, this.engine.scenarios.takeApi(path, true), run, {});
    }

    const getChannel = method === 'GET' ? channelFor('GET', path) : undefined;
    const handler = method === 'POST' ? postHandler(path) : undefined;
    if (!getChannel && !handler) {
      return sendJson(res, 404, { errCode: 'NO_SERVICE', errMsg: `no such service: ${method} ${path}`, errInfo: `no such service: ${method} ${path}` });
    }

    // Authentication first: a request UMS would refuse never reaches a scenario or a handler.
    let body: JsonObject = {};
    let appId: string;
    try {
      if (getChannel) {
        body = unwrapData(parseJsonObject(Buffer.from(checkFormParam(url.searchParams, this.auth), 'utf8')));
        appId = url.searchParams.get('appId') ?? '';
      } else {
        appId = authenticate(req.headers.authorization, raw, this.auth);
        body = unwrapData(parseJsonObject(raw));
      }
    } catch (err) {
      if (err instanceof SimRejection) {
        const status = getChannel && err.httpStatus === 200 ? 400 : err.httpStatus;
        return sendJson(res, status, envelope({}, this.engine.now(), err.errCode, err.message));
      }
      throw err;
    }

    const engine = this.engine;
    const run = (): Outcome => {
      try {
        // The merchant is the one the body's mid/tid name, if this app serves it (NO_MERCHANT otherwise).
        const merchant = engine.merchants.forRequest(body, appId);
        if (getChannel) {
          const order = engine.asMerchant(merchant, () => createOrder(engine, getChannel, body, true));
          return { status: 302, location: cashierUrl(engine, order) };
        }
        const answer = engine.asMerchant(merchant, () => handler!(engine, body));
        return { status: 200, json: envelope(body, engine.now(), 'SUCCESS', '成功', answer) };
      } catch (err) {
        if (err instanceof SimRejection) {
          const status = getChannel && err.httpStatus === 200 ? 400 : err.httpStatus;
          return { status, json: envelope(body, this.engine.now(), err.errCode, err.message) };
        }
        throw err;
      }
    };
    return this.#finish(res, this.engine.scenarios.takeApi(path), run, body);
  }

  /** Runs the call under its scenario (if any) and writes the answer. */
  async #finish(res: ServerResponse, scenario: ApiScenario | undefined, run: () => Outcome, body: JsonObject): Promise<void> {
    const outcome = this.#withScenario(scenario, run, body);
    if (scenario?.kind === 'slow') await this.#sleep(scenario.delayMs);
    if (res.destroyed) return;
    if (outcome.plain !== undefined) {
      res.writeHead(outcome.status, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(outcome.plain);
    }
    if (outcome.location) {
      res.writeHead(302, { location: outcome.location, 'content-length': 0 });
      return void res.end();
    }
    return sendJson(res, outcome.status, outcome.json);
  }

  /** Runs the call as the scenario says: normally, not at all, or with its answer replaced. */
  #withScenario(scenario: ApiScenario | undefined, run: () => Outcome, body: JsonObject): Outcome {
    if (!scenario || scenario.kind === 'slow') return run();
    if (scenario.apply) run();
    if (scenario.kind === 'http-error') return { status: scenario.status, plain: `simulated HTTP ${scenario.status}` };
    return { status: 200, json: envelope(body, this.engine.now(), scenario.errCode, `simulated ${scenario.errCode}`) };
  }

  #cashier(method: string, path: string, res: ServerResponse): void {
    const answer = handleCashier(this.engine, method, path);
    if (answer.location) {
      res.writeHead(answer.status, { location: answer.location, 'content-length': 0 });
      return void res.end();
    }
    return sendHtml(res, answer.status, answer.html ?? '');
  }
}
