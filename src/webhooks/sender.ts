/**
 * One webhook POST over undici: a bounded pool per origin, no redirects followed (undici follows
 * none without its redirect interceptor, and a 3xx is not a 2xx: it is retried like any failure),
 * a per-attempt time limit covering connect, headers and body, and the URL policy enforced inside
 * the connection's DNS lookup (url-policy.ts) plus on IP-literal hosts, which skip the lookup.
 */
import { isIP } from 'node:net';
import { Agent } from 'undici';
import { addressRefusal, bareHost, HOST_NOT_ALLOWED, policyLookup, type UrlPolicy } from './url-policy.js';

export interface SendResult {
  ok: boolean;
  httpStatus: number | null;
  durationMs: number;
  /** Why it failed, short and free of secrets; null when ok. */
  error: string | null;
}

/** The most of an answer's body read (and thrown away): a receiver cannot make us buffer more. */
const MAX_ANSWER_BYTES = 64 * 1024;

export class WebhookSender {
  readonly #agent: Agent;

  constructor(
    private readonly policy: UrlPolicy,
    private readonly timeoutMs: number,
    /** Connections per origin (the per-endpoint concurrency cap matches it). */
    connectionsPerOrigin = 4,
    /** Hears why a host was refused or did not resolve (the log), which the recorded error does not say. */
    private readonly onHostRefused: (host: string, why: string) => void = () => {},
  ) {
    this.#agent = new Agent({
      connections: connectionsPerOrigin,
      connect: { lookup: policyLookup(policy), timeout: timeoutMs },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return { ok: false, httpStatus: null, durationMs: 0, error: 'invalid url' };
    }
    const host = bareHost(target);
    if (isIP(host) !== 0) {
      const refusal = addressRefusal(host, this.policy);
      if (refusal) return { ok: false, httpStatus: null, durationMs: 0, error: `refused by the URL policy: ${refusal}` };
    }
    try {
      const answer = await this.#agent.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers: { ...headers, 'user-agent': 'ums-gateway-webhooks/1' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      let read = 0;
      for await (const chunk of answer.body) {
        read += (chunk as Buffer).length;
        if (read > MAX_ANSWER_BYTES) {
          answer.body.destroy();
          break;
        }
      }
      const ok = answer.statusCode >= 200 && answer.statusCode < 300;
      return { ok, httpStatus: answer.statusCode, durationMs: took(), error: ok ? null : `HTTP ${answer.statusCode}` };
    } catch (err) {
      const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
      // The delivery log is shown to callers: a refused or unresolvable name says no more than that.
      if (code === 'EWEBHOOKPOLICY' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') {
        this.onHostRefused(host, describe(err));
        return { ok: false, httpStatus: null, durationMs: took(), error: HOST_NOT_ALLOWED };
      }
      return { ok: false, httpStatus: null, durationMs: took(), error: describe(err) };
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const code = (err as { code?: unknown }).code;
    const message = err.message.slice(0, 200);
    return typeof code === 'string' ? `${code}: ${message}` : message;
  }
  return 'failed';
}
