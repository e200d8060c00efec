/**
 * POST /notify/ums (CONTRACT.md): UMS payment and refund notifications.
 *
 * The body reaches ums/notification.ts as the raw string it arrived as, because the signature
 * covers the decoded values of exactly those bytes: no body parser may decode it first. What it
 * reads (a verified notification, or why not) goes to payments/notifications.ts, whose outcome
 * this route turns into the answer: 200 `SUCCESS` once stored (applied, duplicate, stale, review,
 * created); `FAILED` with 400 (rejected: forged, malformed, unsupported content type), 413 (over
 * 64 KiB) or 503 (unavailable: not stored, UMS retries). Every non-SUCCESS answer is the plain
 * body `FAILED`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { NotificationBatcher } from '../payments/ledger.js';
import { recordNotification, type NotificationResult } from '../payments/notifications.js';
import { readNotification, type RawNotification } from '../ums/notification.js';
import { DiagnosisBudget } from '../ums/sign-doctor.js';

/** The largest notification body accepted (a real one is about 1 KiB). */
export const NOTIFY_BODY_LIMIT = 64 * 1024;

export const NOTIFY_PATH = '/notify/ums';

/** What was done, and what UMS is answered. */
export interface NotifyAnswer extends NotificationResult {
  httpStatus: 200 | 400 | 413 | 503;
  body: 'SUCCESS' | 'FAILED';
}

export interface NotifyRouteDeps {
  db: Database;
  /** Group commit of verified notifications on `db` (one per database handle). */
  batcher: NotificationBatcher;
  /** The communication keys, current first, then the previous one during a rotation. */
  keys: () => readonly string[];
  log: Logger;
  /** Called once per request with what was done (metrics). */
  onOutcome?: (answer: NotifyAnswer) => void;
  /** How often a failed signature is diagnosed; by default one budget for the route's life. */
  diagnosis?: DiagnosisBudget;
}

export interface NotificationReceiver {
  db: Database;
  batcher: NotificationBatcher;
  keys: readonly string[];
  log: Logger;
  diagnosis?: DiagnosisBudget | undefined;
}

/** Reads, records and answers one notification body; never throws for a bad body. */
export async function receiveNotification(receiver: NotificationReceiver, raw: RawNotification): Promise<NotifyAnswer> {
  const reading = readNotification(raw, receiver.keys, { diagnosis: receiver.diagnosis });
  const result = await recordNotification(receiver.db, { reading, rawBody: raw.body, contentType: raw.contentType }, receiver.log, receiver.batcher);
  return answerTo(result);
}

/** The answer to an outcome (CONTRACT.md POST /notify/ums). */
export function answerTo(result: NotificationResult): NotifyAnswer {
  switch (result.outcome) {
    case 'rejected':
      return { ...result, httpStatus: 400, body: 'FAILED' };
    case 'unavailable':
      return { ...result, httpStatus: 503, body: 'FAILED' };
    default:
      return { ...result, httpStatus: 200, body: 'SUCCESS' };
  }
}

/** The route as a Fastify plugin: `buildServer({ plugins: [notifyRoute(deps)] })`. */
export function notifyRoute(deps: NotifyRouteDeps): FastifyPluginAsync {
  const diagnosis = deps.diagnosis ?? new DiagnosisBudget();
  return async (app: FastifyInstance) => {
    // Encapsulated in this plugin: these parsers apply to this route only.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: NOTIFY_BODY_LIMIT }, (_req, body, done) => {
      done(null, body);
    });

    app.setErrorHandler(async (err: { statusCode?: number; code?: string }, req, reply) => {
      const tooLarge = err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      const status = tooLarge ? 413 : err.statusCode !== undefined && err.statusCode < 500 ? 400 : 503;
      deps.log.warn({ status, code: err.code }, 'notification refused before parsing');
      deps.onOutcome?.(
        tooLarge
          ? { outcome: 'rejected', httpStatus: 413, body: 'FAILED', reason: 'too-large' }
          : status === 400
            ? { outcome: 'rejected', httpStatus: 400, body: 'FAILED', reason: 'bad-request' }
            : { outcome: 'unavailable', httpStatus: 503, body: 'FAILED', reason: 'server-error' },
      );
      return failed(reply, status);
    });

    app.post(NOTIFY_PATH, { bodyLimit: NOTIFY_BODY_LIMIT }, async (req: FastifyRequest, reply: FastifyReply) => {
      const body = typeof req.body === 'string' ? req.body : '';
      const contentType = req.headers['content-type'] ?? '';
      const answer = await receiveNotification({ db: deps.db, batcher: deps.batcher, keys: deps.keys(), log: deps.log, diagnosis }, { body, contentType });
      deps.onOutcome?.(answer);
      if (answer.body === 'SUCCESS') return reply.code(200).type('text/plain; charset=utf-8').send('SUCCESS');
      return failed(reply, answer.httpStatus);
    });

    // Anything but POST on the path: still one vocabulary.
    app.route({
      method: ['GET', 'PUT', 'DELETE', 'PATCH'],
      url: NOTIFY_PATH,
      handler: async (_req, reply) => failed(reply.header('allow', 'POST'), 405),
    });
  };
}

function failed(reply: FastifyReply, status: number): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send('FAILED');
}
