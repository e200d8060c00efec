/**
 * A burst of notifications over many keep-alive connections, the way UMS's notifier hits a
 * gateway, recording for each one what the sender saw: `SUCCESS`, `FAILED` (and its status), or
 * no answer at all (refused, reset). Only `SUCCESS` tells UMS to stop retrying.
 */
import { Pool } from 'undici';
import { FORM } from '../../payments/notification-fixtures.js';

export interface Notification {
  merOrderId: string;
  notifyId: string;
  /** The signed form body. */
  body: string;
}

export type Answer =
  | { kind: 'SUCCESS' }
  /** 503: not stored, UMS retries. `text` is `FAILED`, or Fastify's JSON while it drains. */
  | { kind: 'FAILED'; status: number; text: string }
  /** An answer UMS would not expect from a healthy gateway (e.g. 400 for a valid body). */
  | { kind: 'unexpected'; status: number; text: string }
  | { kind: 'no-answer'; error: string };

export interface BurstOptions {
  /** http://host:port of the gateway. */
  url: string;
  notifications: readonly Notification[];
  concurrency: number;
  /** Called once, when this many answers (of any kind) have arrived. */
  after: { answers: number; run: () => void };
  /** Per request: how long to wait for headers and body before counting it unanswered. */
  timeoutMs: number;
}

export interface BurstResult {
  /** In the order of `notifications`. */
  answers: Answer[];
  /** `SUCCESS` answers that arrived after `after.run` was called (drained in-flight requests). */
  successAfterTrigger: number;
}

/** Sends every notification once (no retries) and returns the answers in the same order. */
export async function fireBurst(options: BurstOptions): Promise<BurstResult> {
  const pool = new Pool(options.url, {
    connections: options.concurrency,
    pipelining: 1,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
  });
  const answers: Answer[] = new Array(options.notifications.length);
  let next = 0;
  let answered = 0;
  let fired = false;
  let successAfterTrigger = 0;

  const send = async (n: Notification): Promise<Answer> => {
    try {
      const res = await pool.request({
        path: '/notify/ums',
        method: 'POST',
        headers: { 'content-type': FORM },
        body: n.body,
      });
      const text = await res.body.text();
      if (res.statusCode === 200 && text === 'SUCCESS') return { kind: 'SUCCESS' };
      if (res.statusCode === 503) return { kind: 'FAILED', status: res.statusCode, text: text.slice(0, 200) };
      return { kind: 'unexpected', status: res.statusCode, text: text.slice(0, 200) };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return { kind: 'no-answer', error: typeof code === 'string' ? code : String(err) };
    }
  };

  const worker = async () => {
    while (next < options.notifications.length) {
      const index = next++;
      const answer = await send(options.notifications[index]!);
      answers[index] = answer;
      answered++;
      if (fired && answer.kind === 'SUCCESS') successAfterTrigger++;
      if (!fired && answered >= options.after.answers) {
        fired = true;
        options.after.run();
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    await pool.destroy();
  }
  return { answers, successAfterTrigger };
}

/** How many answers of each kind, e.g. `{ SUCCESS: 180, FAILED: 3, 'no-answer': 217 }`. */
export function countAnswers(answers: readonly Answer[]): Record<Answer['kind'], number> {
  const counts: Record<Answer['kind'], number> = { SUCCESS: 0, FAILED: 0, unexpected: 0, 'no-answer': 0 };
  for (const a of answers) counts[a.kind]++;
  return counts;
}
