/**
 * Browsers on other origins (CORS_ORIGINS). @fastify/cors answers the listed origins on
 * `/graphql`; others get no CORS headers at all, so their browsers keep the answer from them. The
 * same list decides which WebSocket upgrades are taken, since browsers apply no CORS to
 * WebSockets: the Origin header is all the server can go by. The gateway's own origin (its
 * storefront, Sandbox) needs no listing, and clients that send no Origin are not browsers.
 */
import fastifyCors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What the typed client and Apollo's clients send: keys and secrets, JSON, CSRF prevention. */
const ALLOWED_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'apollo-require-preflight', 'x-apollo-operation-name'];

/** Registers CORS for routes on `path` in `app`'s context; nothing at all when `origins` is empty. */
export async function registerCors(app: FastifyInstance, origins: readonly string[], path: string): Promise<void> {
  if (origins.length === 0) return;
  const allowed = new Set(origins);
  // @fastify/cors adds an `OPTIONS *` route with its hook, which would answer preflights on every
  // other path too (the notify endpoint is for UMS's servers only).
  app.addHook('onRoute', (route) => {
    if (route.url !== path) route.config = Object.assign({}, route.config, { cors: false });
  });
  await app.register(fastifyCors, {
    // The exact origin comes back (with Vary: Origin); false leaves every CORS header out.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: ['retry-after'],
    // Keys and client secrets travel in headers; no cookies.
    credentials: false,
  });
}

/** Whether a WebSocket upgrade's Origin may open a socket; every one when `origins` is empty. */
export function webSocketOriginCheck(origins: readonly string[]): (request: FastifyRequest) => boolean {
  if (origins.length === 0) return () => true;
  const allowed = new Set(origins);
  return (request) => {
    const origin = request.headers.origin;
    return origin === undefined || allowed.has(origin) || isOwnOrigin(origin, request.host);
  };
}

/** True when `origin` names the host the request was sent to (Host, or X-Forwarded-Host behind a trusted proxy). */
function isOwnOrigin(origin: string, host: string): boolean {
  try {
    const url = new URL(origin);
    return url.origin === new URL(`${url.protocol}//${host}`).origin;
  } catch {
    return false;
  }
}
