/**
 * The control endpoints under `/_sim/…` (JSON): make a buyer pay, look at orders and deliveries,
 * re-send a notification, queue scenarios, expire tokens, reset. Not part of UMS; never
 * authenticated (the simulator holds no real money).
 */
import { date } from './clock.js';
import { ControlError, type SimEngine } from './engine.js';
import { ScenarioError } from './scenarios.js';
import type { TokenStore } from './tokens.js';
import type { OrderStatus, PayOutcome } from './types.js';
import { deliveryView, orderView } from './views.js';

export interface ControlAnswer {
  status: number;
  json: unknown;
}

const OUTCOMES: readonly PayOutcome[] = ['TRADE_SUCCESS', 'TRADE_CLOSED'];
const STATUSES: readonly OrderStatus[] = ['NEW_ORDER', 'WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_REFUND', 'TRADE_CLOSED', 'UNKNOWN'];

function object(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new ControlError(400, 'expected a JSON object body');
  return body as Record<string, unknown>;
}

export function handleControl(
  engine: SimEngine,
  tokens: TokenStore,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): ControlAnswer {
  try {
    return route(engine, tokens, method, path, query, body);
  } catch (err) {
    if (err instanceof ControlError) return { status: err.httpStatus, json: { error: err.message } };
    if (err instanceof ScenarioError) return { status: 400, json: { error: err.message } };
    throw err;
  }
}

function route(engine: SimEngine, tokens: TokenStore, method: string, path: string, query: URLSearchParams, body: unknown): ControlAnswer {
  const orderMatch = /^\/_sim\/orders\/([^/]+)(?:\/(pay|notify))?$/.exec(path);
  if (orderMatch) {
    const merOrderId = decodeURIComponent(orderMatch[1]!);
    const action = orderMatch[2];
    if (method === 'GET' && !action) return { status: 200, json: orderView(engine.order(merOrderId)) };
    if (method === 'POST' && action === 'pay') {
      const input = object(body);
      const outcome = input.outcome ?? 'TRADE_SUCCESS';
      if (!OUTCOMES.includes(outcome as PayOutcome)) throw new ControlError(400, 'outcome must be TRADE_SUCCESS or TRADE_CLOSED');
      if (input.notify !== undefined && typeof input.notify !== 'boolean') throw new ControlError(400, 'notify must be true or false');
      const amount = input.amount;
      if (amount !== undefined && !(Number.isInteger(amount) && (amount as number) >= 1 && (amount as number) <= 100_000_000)) {
        throw new ControlError(400, 'amount must be a whole number of fen, 1 to 100000000');
      }
      const { order, deliveries } = engine.pay(merOrderId, {
        outcome: outcome as PayOutcome,
        notify: input.notify !== false,
        ...(amount === undefined ? {} : { amount: amount as number }),
      });
      return { status: 200, json: { order: orderView(order), deliveries: deliveries.map(deliveryView) } };
    }
    if (method === 'POST' && action === 'notify') {
      // Re-send a notification for the order's current (or a named) status, e.g. to replay one.
      const input = object(body);
      const order = engine.order(merOrderId);
      const status = (input.status ?? order.status) as OrderStatus;
      if (!STATUSES.includes(status)) throw new ControlError(400, `status must be one of ${STATUSES.join(', ')}`);
      // The latest refund that went through (a PROCESSING or FAILed one was never announced).
      const refund = status === 'TRADE_REFUND' ? order.refunds.filter((r) => r.refundStatus === 'SUCCESS').at(-1) : undefined;
      const deliveries = engine.notify(order, status, refund);
      if (deliveries.length === 0) throw new ControlError(409, 'the order has no notifyUrl and no default notify URL is configured');
      return { status: 200, json: { deliveries: deliveries.map(deliveryView) } };
    }
  }
  if (method === 'GET' && path === '/_sim/orders') {
    // ?date=YYYY-MM-DD: the orders created that Beijing day (what a day's reconciliation covers).
    const day = query.get('date');
    if (day !== null && !/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new ControlError(400, 'date must be YYYY-MM-DD');
    const orders = engine.store.all().filter((o) => day === null || date(o.createdAt) === day);
    return { status: 200, json: { orders: orders.map(orderView) } };
  }
  if (method === 'GET' && path === '/_sim/deliveries') {
    const merOrderId = query.get('merOrderId');
    const list = engine.notifier.deliveries.filter((d) => merOrderId === null || d.merOrderId === merOrderId);
    return { status: 200, json: { deliveries: list.map(deliveryView) } };
  }
  if (path === '/_sim/scenarios') {
    if (method === 'POST') {
      const entry = engine.scenarios.add(body);
      return { status: 201, json: entry };
    }
    if (method === 'GET') return { status: 200, json: { scenarios: engine.scenarios.list() } };
    if (method === 'DELETE') {
      engine.scenarios.clear();
      return { status: 200, json: { scenarios: [] } };
    }
  }
  if (method === 'POST' && path === '/_sim/merchants') {
    // A gateway started apart from this simulator (`npm run sim`) teaches it a merchant this way.
    const input = object(body);
    const fields = ['appId', 'appKey', 'notifyKey', 'sourceId', 'mid', 'tid'] as const;
    const missing = fields.filter((f) => typeof input[f] !== 'string' || input[f] === '' || (input[f] as string).length > 256);
    if (missing.length > 0) throw new ControlError(400, `expected non-empty strings (at most 256 characters): ${missing.join(', ')}`);
    const credentials = Object.fromEntries(fields.map((f) => [f, input[f] as string])) as Record<(typeof fields)[number], string>;
    try {
      engine.merchants.register(credentials);
    } catch (err) {
      throw new ControlError(409, err instanceof Error ? err.message : String(err));
    }
    return { status: 200, json: { registered: { mid: credentials.mid, tid: credentials.tid, appId: credentials.appId } } };
  }
  if (method === 'POST' && path === '/_sim/tokens/expire') {
    return { status: 200, json: { expired: tokens.expireAll() } };
  }
  if (method === 'POST' && path === '/_sim/reset') {
    engine.stopTimers();
    engine.store.clear();
    engine.scenarios.clear();
    return { status: 200, json: { reset: true } };
  }
  return { status: 404, json: { error: `no control endpoint ${method} ${path}` } };
}
