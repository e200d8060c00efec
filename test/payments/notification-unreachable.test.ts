/**
 * When the database cannot be reached at all (a network partition: connections are accepted by
 * nothing and never answered), a notification is answered 503 after one connection timeout. The
 * batch that failed to connect does not hand it back for a second, solo attempt that would wait
 * as long again (UMS would see twice the delay, or give up first).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { receiveNotification } from '../../src/http/notify.js';
import { insertNewOrder, NotificationBatcher, type NotificationBatcherOptions } from '../../src/payments/ledger.js';
import { describePostgres, postgresDatabase, type TestDatabase } from '../support/db.js';
import { FORM, MID, NOTIFY_KEY, TID, formBody, newOrderId, notificationFields, signed } from './notification-fixtures.js';

/**
 * Forwards to Postgres until `blackhole()` (cut what is open; accept new connections and never
 * answer) or `freeze()` (keep what is open, silently stop carrying data: a network partition).
 */
function switchableProxy(target: URL): { server: Server; port: () => number; blackhole: () => void; freeze: () => void; attempts: () => number; close: () => void } {
  const sockets = new Set<Socket>();
  const pairs: [Socket, Socket][] = [];
  let silent = false;
  let attempts = 0;
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (silent) {
      attempts += 1;
      return;
    }
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
    pairs.push([client, upstream]);
  });
  return {
    server,
    port: () => (server.address() as { port: number }).port,
    blackhole: () => {
      silent = true;
      // Cut what is open, so the pool has to connect again.
      for (const socket of sockets) socket.destroy();
    },
    freeze: () => {
      silent = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    attempts: () => attempts,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** A fresh database, reached through a switchable proxy, opened with a 1 s connect timeout (the default is 5 s; only the wait differs). */
function databaseBehindProxy(options: NotificationBatcherOptions = {}): { proxy: () => ReturnType<typeof switchableProxy>; handle: () => DatabaseHandle; batcher: () => NotificationBatcher } {
  let database: TestDatabase;
  let proxy: ReturnType<typeof switchableProxy>;
  let handle: DatabaseHandle;
  let batcher: NotificationBatcher;
  beforeAll(async () => {
    database = await postgresDatabase();
    proxy = switchableProxy(new URL(database.url as string));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const url = new URL(database.url as string);
    url.host = `127.0.0.1:${proxy.port()}`;
    handle = await openDatabase({ url: url.toString(), connectTimeoutSeconds: 1 });
    batcher = new NotificationBatcher(handle.db, options);
  });
  afterAll(async () => {
    proxy?.close();
    await handle?.close().catch(() => {});
    await database?.close();
  });
  return { proxy: () => proxy, handle: () => handle, batcher: () => batcher };
}

describePostgres('a notification while the database is unreachable [postgres]', () => {
  // One batch in flight: the second notification below queues behind the first batch.
  const db = databaseBehindProxy({ maxBatchesInFlight: 1 });

  it('is answered 503 after one connection timeout, not two', async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(db.handle().db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
    db.proxy().blackhole();
    // Let the pool see its connections close, so the notification needs a new one.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const body = formBody(signed(notificationFields(merOrderId)));
    const result = await receiveNotification({ db: db.handle().db, batcher: db.batcher(), keys: [NOTIFY_KEY], log: pino({ level: 'silent' }) }, { body, contentType: FORM });

    expect(result).toMatchObject({ outcome: 'unavailable', httpStatus: 503, body: 'FAILED', reason: 'storage-failure' });
    expect(db.proxy().attempts()).toBe(1);
  }, 30_000);

  it('answers what queued behind an unreachable batch with it, instead of one more timeout per batch', async () => {
    const ids = [newOrderId(), newOrderId(), newOrderId()];
    const post = (merOrderId: string) =>
      receiveNotification({ db: db.handle().db, batcher: db.batcher(), keys: [NOTIFY_KEY], log: pino({ level: 'silent' }) }, { body: formBody(signed(notificationFields(merOrderId))), contentType: FORM });
    const before = db.proxy().attempts();
    const first = post(ids[0] as string);
    // The first batch is waiting for its connection; these queue behind it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const queued = ids.slice(1).map(post);

    const results = await Promise.all([first, ...queued]);
    expect(results.map((r) => r.httpStatus)).toEqual([503, 503, 503]);
    // One connection attempt for all three: the queued ones were answered with the first.
    expect(db.proxy().attempts() - before).toBe(1);
  }, 30_000);
});

describePostgres('notifications while the database is unreachable, two batches in flight [postgres]', () => {
  const db = databaseBehindProxy({ maxBatchesInFlight: 2 });

  it('makes at most one connection attempt per batch in flight; what queued behind them is answered with the first', async () => {
    const ids = [newOrderId(), newOrderId(), newOrderId(), newOrderId()];
    for (const merOrderId of ids) await insertNewOrder(db.handle().db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
    db.proxy().blackhole();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const post = (merOrderId: string) =>
      receiveNotification({ db: db.handle().db, batcher: db.batcher(), keys: [NOTIFY_KEY], log: pino({ level: 'silent' }) }, { body: formBody(signed(notificationFields(merOrderId))), contentType: FORM });
    const before = db.proxy().attempts();
    const first = post(ids[0] as string);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A second batch starts in the free slot and waits for a connection of its own.
    const second = post(ids[1] as string);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Both slots are taken: these queue, and are answered when the first batch fails.
    const queued = ids.slice(2).map(post);

    const results = await Promise.all([first, second, ...queued]);
    expect(results.map((r) => r.httpStatus)).toEqual([503, 503, 503, 503]);
    expect(db.proxy().attempts() - before).toBe(2);
  }, 30_000);
});

describePostgres('a notification while the connection has died silently [postgres]', () => {
  // A batch deadline shorter than the 10 s default, to keep the test short.
  const db = databaseBehindProxy({ deadlineMs: 1000 });

  it('is answered 503 at the batch deadline, not held until TCP gives up', async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(db.handle().db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
    // Open connections stay open but carry nothing, as in a network partition.
    db.proxy().freeze();

    const body = formBody(signed(notificationFields(merOrderId)));
    const result = await receiveNotification({ db: db.handle().db, batcher: db.batcher(), keys: [NOTIFY_KEY], log: pino({ level: 'silent' }) }, { body, contentType: FORM });
    expect(result).toMatchObject({ outcome: 'unavailable', httpStatus: 503, body: 'FAILED' });
  }, 20_000);
});
