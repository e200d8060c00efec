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
 *
 * Several merchants (CONTRACT.md "Merchants"): `POST /notify/ums/{merchantId}` verifies with that
 * merchant's notify keys; `POST /notify/ums` with those of the merchant the body's `mid` (and
 * `tid`) name, else `default`'s. The merchant that verified a body is the only one whose payment
 * it may move (payments/notifications.ts).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { NotificationBatcher } from '../payments/ledger.js';
import { recordNotification, type NotificationResult } from '../payments/notifications.js';
import { isMerchantId } from '../merchants/ids.js';
import { lazyChildLoggerFactory } from './lazy-child-logger.js';
import { readNotification, type NotificationReading, type NotifyKeys, type RawNotification } from '../ums/notification.js';
import { DiagnosisBudget } from '../ums/sign-doctor.js';

/** The largest notification body accepted (a real one is about 1 KiB). */
export const NOTIFY_BODY_LIMIT = 64 * 1024;

export const NOTIFY_PATH = '/notify/ums';

/** One merchant as the notify route sees it: its id and notify keys (current first). */
export interface NotifyMerchant {
  readonly id: string;
  readonly notifyKeys: readonly string[];
}

/** The merchants notifications are routed to (merchants/registry.ts fits). */
export interface NotifyMerchants {
  merchant(id: string): NotifyMerchant | undefined;
  byMidTid(mid: string, tid: string | undefined): NotifyMerchant | undefined;
  readonly defaultMerchant: NotifyMerchant;
}

/** What was done, and what UMS is answered. */
export interface NotifyAnswer extends NotificationResult {
  httpStatus: 200 | 400 | 413 | 503;
  body: 'SUCCESS' | 'FAILED';
}

export interface NotifyRouteDeps {
  db: Database;
  /** Group commit of verified notifications on `db` (one per database handle). */
  batcher: NotificationBatcher;
  /**
   * The communication keys, current first, then the previous one during a rotation; used when no
   * `merchants` are given (one merchant, and no per-merchant check).
   */
  keys?: () => readonly string[];
  /** The merchants: routes by path or by mid/tid, and binds each notification to its merchant. */
  merchants?: NotifyMerchants;
  log: Logger;
  /** Called once per request with what was done (metrics). */
  onOutcome?: (answer: NotifyAnswer) => void;
  /** How often a failed signature is diagnosed; by default one budget for the route's life. */
  diagnosis?: DiagnosisBudget;
}

export interface NotificationReceiver {
  db: Database;
  batcher: NotificationBatcher;
  keys: NotifyKeys;
  /** The merchant the keys are that of; chosen from the body when `keys` is a function (set by it). */
  merchantId?: () => string | undefined;
  log: Logger;
  diagnosis?: DiagnosisBudget | undefined;
}

/** Reads, records and answers one notification body; never throws for a bad body. */
export async function receiveNotification(receiver: NotificationReceiver, raw: RawNotification): Promise<NotifyAnswer> {
  const reading = readNotification(raw, receiver.keys, { diagnosis: receiver.diagnosis });
  const merchantId = receiver.merchantId?.();
  const result = await recordNotification(
    receiver.db,
    { reading, rawBody: raw.body, contentType: raw.contentType, ...(merchantId !== undefined ? { merchantId } : {}) },
    receiver.log,
    receiver.batcher,
  );
  return answerTo(result);
}

/** A reading for a body posted to the path of a merchant this gateway does not know. */
function unknownMerchant(): NotificationReading {
  return { ok: false, reason: 'unknown-merchant', verified: false };
}

/**
 * How one request is read: with the path's merchant, or the merchant the body's mid/tid name
 * (chosen once the body is parsed, before it is verified), or the configured keys alone.
 */
function receiverFor(deps: NotifyRouteDeps, diagnosis: DiagnosisBudget, pathMerchantId: string | undefined): NotificationReceiver | NotificationReading {
  const base = { db: deps.db, batcher: deps.batcher, log: deps.log, diagnosis };
  const merchants = deps.merchants;
  if (!merchants) return { ...base, keys: deps.keys?.() ?? [] };
  if (pathMerchantId !== undefined) {
    const merchant = isMerchantId(pathMerchantId) ? merchants.merchant(pathMerchantId) : undefined;
    if (!merchant) return unknownMerchant();
    return { ...base, keys: merchant.notifyKeys, merchantId: () => merchant.id };
  }
  let chosen: NotifyMerchant = merchants.defaultMerchant;
  return {
    ...base,
    keys: (fields) => {
      const mid = fields.mid;
      if (mid) chosen = merchants.byMidTid(mid, fields.tid || undefined) ?? merchants.defaultMerchant;
      return chosen.notifyKeys;
    },
    merchantId: () => chosen.id,
  };
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

    const receive = async (req: FastifyRequest, reply: FastifyReply, pathMerchantId: string | undefined) => {
      const body = typeof req.body === 'string' ? req.body : '';
      const contentType = req.headers['content-type'] ?? '';
      const receiver = receiverFor(deps, diagnosis, pathMerchantId);
      const answer =
        'db' in receiver
          ? await receiveNotification(receiver, { body, contentType })
          : answerTo(await recordNotification(deps.db, { reading: receiver, rawBody: body, contentType }, deps.log, deps.batcher));
      deps.onOutcome?.(answer);
      if (answer.body === 'SUCCESS') return reply.code(200).type('text/plain; charset=utf-8').send('SUCCESS');
      return failed(reply, answer.httpStatus);
    };
    // The route logs through deps.log, never req.log: the request's child logger is made only if
    // something (Fastify's own error path) uses it, not for every notification.
    const routeOptions = { bodyLimit: NOTIFY_BODY_LIMIT, childLoggerFactory: lazyChildLoggerFactory };
    app.post(NOTIFY_PATH, routeOptions, (req, reply) => receive(req, reply, undefined));
    app.post<{ Params: { merchantId: string } }>(`${NOTIFY_PATH}/:merchantId`, routeOptions, (req, reply) =>
      receive(req, reply, req.params.merchantId),
    );

    // Anything but POST on the paths: still one vocabulary.
    for (const url of [NOTIFY_PATH, `${NOTIFY_PATH}/:merchantId`]) {
      app.route({
        method: ['GET', 'PUT', 'DELETE', 'PATCH'],
        url,
        handler: async (_req, reply) => failed(reply.header('allow', 'POST'), 405),
      });
    }
  };
}

function failed(reply: FastifyReply, status: number): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send('FAILED');
}
