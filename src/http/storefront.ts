/**
 * The demo storefront (CONTRACT.md "Demo storefront"): `GET /` and its bundle under `/assets/`,
 * built from web/ by scripts/build-web.mjs into `root` (dist/web for `npm start`).
 *
 * Caching: asset names carry a hash of their content, so they are immutable for a year; the page
 * itself is `no-cache` (revalidated every time), so a new build is picked up at the next load.
 * The page loads nothing from elsewhere, and its Content-Security-Policy says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export interface StorefrontOptions {
  /** The built bundle: index.html and assets/. */
  root: string;
  /** Which banner the page shows: the simulator's, or live mode's warning (DEMO_PAGE=true). */
  mode: 'simulator' | 'live';
}

/** Self only: the bundle, the GraphQL endpoint (HTTP and WebSocket), and the QR code's data: URL. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const NOT_BUILT = 'The storefront is not built yet: run `npm run build` (npm start does it for you).\n';

/** dist/web next to the compiled gateway, or the repository's dist/web when running from src/. */
export function defaultStorefrontRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url)); // …/src/http or …/dist/src/http
  const root = join(here, '..', '..');
  return existsSync(join(root, '.build-stamp')) ? join(root, 'web') : join(root, 'dist', 'web');
}

export function storefrontRoute(options: StorefrontOptions): FastifyPluginAsync {
  return async (app) => {
    const indexFile = join(options.root, 'index.html');
    const assets = join(options.root, 'assets');
    let page: string | undefined;

    app.get('/', async (_request, reply) => {
      page ??= existsSync(indexFile) ? readFileSync(indexFile, 'utf8').replace('<body data-mode="simulator">', `<body data-mode="${options.mode}">`) : undefined;
      if (page === undefined) return reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(page);
    });

    if (!existsSync(assets)) return;
    await app.register(fastifyStatic, {
      root: assets,
      prefix: '/assets/',
      index: false,
      list: false,
      dotfiles: 'deny',
      decorateReply: false,
      // Hashed names: a changed file gets a new name, so a cached one never needs asking again.
      maxAge: '365d',
      immutable: true,
      setHeaders: (res) => res.setHeader('x-content-type-options', 'nosniff'),
    });
  };
}
