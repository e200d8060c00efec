/**
 * POST /notify/ums logs through the route's own logger, never the request's: Fastify's child
 * logger per request (pino.child, copying bindings through redaction) is not made for a
 * notification that is stored or refused (bench/README.md, "notify").
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildServer } from '../../src/http/server.js';
import { notifyRoute } from '../../src/http/notify.js';
import { insertNewOrder, NotificationBatcher } from '../../src/payments/ledger.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { FORM, MID, NOTIFY_KEY, TID, formBody, newOrderId, notificationFields, signed } from '../payments/notification-fixtures.js';

let h: TestDatabase;
let app: FastifyInstance;
let childrenMade = 0;

beforeAll(async () => {
  h = await (databaseKinds[0] as (typeof databaseKinds)[number]).open();
  const silent = pino({ level: 'silent' });
  // Every child counts, and is counting too (Fastify derives the plugins' loggers from the server's).
  type Logger = pino.Logger;
  const counting = (logger: Logger): Logger =>
    Object.assign(Object.create(logger) as Logger, {
      child: (bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger => {
        childrenMade++;
        return counting(logger.child(bindings, options));
      },
    });
  app = await buildServer({
    log: counting(silent),
    ready: () => h.ready(),
    plugins: [notifyRoute({ db: h.db, batcher: new NotificationBatcher(h.db), keys: () => [NOTIFY_KEY], log: silent })],
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

it('makes no child logger for a stored notification, nor for a refused one', async () => {
  const merOrderId = newOrderId();
  await insertNewOrder(h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
  childrenMade = 0;
  const stored = await app.inject({ method: 'POST', url: '/notify/ums', headers: { 'content-type': FORM }, payload: formBody(signed(notificationFields(merOrderId))) });
  expect([stored.statusCode, stored.body]).toEqual([200, 'SUCCESS']);
  const forged = await app.inject({ method: 'POST', url: '/notify/ums', headers: { 'content-type': FORM }, payload: formBody(signed(notificationFields(merOrderId), 'not-the-key')) });
  expect([forged.statusCode, forged.body]).toEqual([400, 'FAILED']);
  expect(childrenMade).toBe(0);
});
