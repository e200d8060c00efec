/**
 * A tiny UMS stand-in for client tests: a node:http server that checks OPEN-BODY-SIG, tokens and
 * OPEN-FORM-PARAM URLs with its OWN code (node:crypto directly, its own header parsing), never
 * with src/ums/sign.ts, so that one misunderstanding of the protocol cannot hide on both sides.
 *
 * Each test scripts the answers with `peer.on(path, handler)`; the peer records every request.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type PeerAuth =
  | { scheme: 'none' }
  | { scheme: 'OPEN-BODY-SIG'; ok: boolean; appId: string; timestamp: string; nonce: string; signature: string }
  | { scheme: 'OPEN-ACCESS-TOKEN'; ok: boolean; token: string }
  | { scheme: 'other'; ok: false };

export interface PeerRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The exact bytes received. */
  raw: Buffer;
  /** `raw` parsed as JSON, when it is. */
  json: Record<string, unknown> | undefined;
  auth: PeerAuth;
}

export interface PeerReply {
  status?: number;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (text/plain unless headers say otherwise). */
  text?: string;
  headers?: Record<string, string>;
  /** Wait this long before sending anything (headers timeout). */
  delayHeadersMs?: number;
  /** Send nothing until this settles: a test's own event instead of a guessed delay. */
  hold?: Promise<unknown>;
  /** Send headers and the first half of the body, then wait this long (body timeout). */
  stallBodyMs?: number;
  /** Stream this many bytes of JSON-ish filler without a content-length (size bound). */
  streamBytes?: number;
}

export type PeerHandler = (req: PeerRequest) => PeerReply | Promise<PeerReply>;

export interface PeerOptions {
  appId: string;
  appKey: string;
  /** expiresIn of issued tokens, seconds. Default 3600. */
  tokenTtlSeconds?: number;
}

export interface UmsPeer {
  baseUrl: string;
  /** Business requests (not the token endpoint), in arrival order. */
  requests: PeerRequest[];
  /** Token requests, in arrival order. */
  tokenRequests: PeerRequest[];
  /** Tokens handed out, in order. */
  issuedTokens: string[];
  /** Script the answer for a path (e.g. `/v1/netpay/query`). Default: SUCCESS echoing the body. */
  on(path: string, handler: PeerHandler): void;
  /** Forget every issued token (as if UMS expired them early). */
  revokeTokens(): void;
  /** When true, every token is refused, new ones too. */
  refuseAllTokens: boolean;
  /** When set, the token endpoint answers this instead of a token. */
  tokenReply: PeerReply | undefined;
  /** Verifies an OPEN-FORM-PARAM URL with the peer's own decoding and HMAC. */
  verifyFormUrl(url: string): { ok: boolean; path: string; params: Record<string, string>; content: Record<string, unknown> };
  close(): Promise<void>;
}

/** Beijing wall clock `yyyyMMddHHmmss` computed here, independently of src/ums/time.ts. */
export function peerBeijingCompact(at: Date): string {
  const iso = new Date(at.getTime() + 8 * 3600_000).toISOString(); // 2024-06-18T10:30:15.000Z
  return iso.slice(0, 19).replace(/[-:T]/g, '');
}

function hmacSignature(appId: string, appKey: string, timestamp: string, nonce: string, body: Buffer | string): string {
  const digest = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', Buffer.from(appKey, 'utf8')).update(Buffer.from(appId + timestamp + nonce + digest, 'utf8')).digest('base64');
}

/** `OPEN-BODY-SIG AppId="…", Timestamp="…", …`: split on commas, trim, names case-insensitive, strip quotes. */
function parseAuthParams(rest: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of rest.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out[name] = value;
  }
  return out;
}

export async function startUmsPeer(options: PeerOptions): Promise<UmsPeer> {
  const handlers = new Map<string, PeerHandler>();
  const validTokens = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const peer: UmsPeer = {
    baseUrl: '',
    requests: [],
    tokenRequests: [],
    issuedTokens: [],
    refuseAllTokens: false,
    tokenReply: undefined,
    on(path, handler) {
      handlers.set(path, handler);
    },
    revokeTokens() {
      validTokens.clear();
    },
    verifyFormUrl(url) {
      const parsed = new URL(url);
      // URLSearchParams decodes '+' as space, exactly the inverse of java.net.URLEncoder.
      const params = Object.fromEntries(parsed.searchParams);
      const content = params.content ?? '';
      const ok =
        params.authorization === 'OPEN-FORM-PARAM' &&
        params.appId === options.appId &&
        params.signature === hmacSignature(options.appId, options.appKey, params.timestamp ?? '', params.nonce ?? '', content);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(content) as Record<string, unknown>;
      } catch {
        json = {};
      }
      return { ok, path: parsed.pathname, params, content: json };
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function checkAuth(header: string | undefined, raw: Buffer): PeerAuth {
    if (!header) return { scheme: 'none' };
    const space = header.indexOf(' ');
    const scheme = space < 0 ? header : header.slice(0, space);
    const rest = space < 0 ? '' : header.slice(space + 1);
    if (scheme === 'OPEN-BODY-SIG') {
      const p = parseAuthParams(rest);
      const appId = p.appid ?? '';
      const timestamp = p.timestamp ?? '';
      const nonce = p.nonce ?? '';
      const signature = p.signature ?? '';
      const ok = appId === options.appId && signature === hmacSignature(appId, options.appKey, timestamp, nonce, raw);
      return { scheme, ok, appId, timestamp, nonce, signature };
    }
    if (scheme === 'OPEN-ACCESS-TOKEN') {
      const token = parseAuthParams(rest).accesstoken ?? '';
      return { scheme, ok: !peer.refuseAllTokens && validTokens.has(token), token };
    }
    return { scheme: 'other', ok: false };
  }

  function tokenAnswer(req: PeerRequest): PeerReply {
    if (peer.tokenReply) return peer.tokenReply;
    const body = req.json ?? {};
    const want = createHash('sha256')
      .update(String(body.appId) + String(body.timestamp) + String(body.nonce) + options.appKey, 'utf8')
      .digest('hex');
    if (body.appId !== options.appId || body.signature !== want || body.signMethod !== 'SHA256') {
      return { json: { errCode: '1001', errInfo: '签名错误' } };
    }
    const token = `tok-${peer.issuedTokens.length + 1}-${randomBytes(8).toString('hex')}`;
    peer.issuedTokens.push(token);
    validTokens.add(token);
    return { json: { errCode: '0000', errInfo: '正常', accessToken: token, expiresIn: options.tokenTtlSeconds ?? 3600 } };
  }

  async function send(res: ServerResponse, reply: PeerReply): Promise<void> {
    res.on('error', () => {});
    if (reply.delayHeadersMs) await wait(reply.delayHeadersMs);
    if (reply.hold) await reply.hold.catch(() => undefined);
    if (res.destroyed) return;
    const status = reply.status ?? 200;
    if (reply.streamBytes !== undefined) {
      res.writeHead(status, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      while (sent < reply.streamBytes && !res.destroyed) {
        const ok = res.write(chunk);
        sent += chunk.length;
        if (!ok) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        }
      }
      if (!res.destroyed) res.end();
      return;
    }
    const text = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
    const bytes = Buffer.from(text, 'utf8');
    const headers = {
      'content-type': reply.json !== undefined ? 'application/json;charset=UTF-8' : 'text/plain; charset=UTF-8',
      'content-length': String(bytes.length),
      ...reply.headers,
    };
    if (reply.stallBodyMs) {
      res.writeHead(status, headers);
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      await wait(reply.stallBodyMs);
      if (!res.destroyed) res.end(bytes.subarray(Math.floor(bytes.length / 2)));
      return;
    }
    res.writeHead(status, headers);
    res.end(bytes);
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        let json: Record<string, unknown> | undefined;
        try {
          const parsed: unknown = JSON.parse(raw.toString('utf8'));
          if (typeof parsed === 'object' && parsed !== null) json = parsed as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const request: PeerRequest = {
          method: req.method ?? '',
          path,
          headers: req.headers,
          raw,
          json,
          auth: checkAuth(req.headers.authorization, raw),
        };
        if (path === '/v1/token/access') {
          peer.tokenRequests.push(request);
          await send(res, tokenAnswer(request));
          return;
        }
        peer.requests.push(request);
        if (request.auth.scheme === 'OPEN-ACCESS-TOKEN' && !request.auth.ok) {
          await send(res, { status: 401, json: { errCode: 'INVALID_TOKEN', errMsg: 'token无效或已过期' } });
          return;
        }
        if (!('ok' in request.auth) || !request.auth.ok) {
          await send(res, { json: { errCode: 'BAD_SIGN', errMsg: '签名错误' } });
          return;
        }
        const handler = handlers.get(path);
        const fields = (json?.data as Record<string, unknown> | undefined) ?? json ?? {};
        const reply = handler ? await handler(request) : { json: { errCode: 'SUCCESS', errMsg: '成功', ...fields } };
        await send(res, reply);
      })().catch(() => res.destroy());
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  peer.baseUrl = `http://127.0.0.1:${port}`;
  return peer;
}
