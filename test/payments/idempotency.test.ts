import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { PaymentError } from '../../src/payments/errors.js';
import { Idempotency, hashRequest, idempotentOrderId, type Attempt } from '../../src/payments/idempotency.js';
import { isOrderIdFor } from '../../src/ums/ids.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { countingDb } from './sync/harness.js';

describeEachDatabase('Idempotency-Key', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await kind.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  let n = 0;
  const freshKey = () => `key-${Date.now()}-${n++}`;

  it('answers the first answer for the same key and input, without running the work again', async () => {
    const idem = new Idempotency(database.db);
    const key = freshKey();
    let calls = 0;
    const work = async () => ({ merOrderId: `3194A${++calls}`, at: new Date('2026-01-02T03:04:05.678Z'), amount: 100 });
    const first = await idem.run('createPayment', key, { totalAmount: 100, channel: 'QR_CODE' }, work);
    // Key order of the input does not matter.
    const second = await idem.run('createPayment', key, { channel: 'QR_CODE', totalAmount: 100 }, work);
    expect(calls).toBe(1);
    expect(second).toEqual(first);
    expect(second.at).toBeInstanceOf(Date);
  });

  it('refuses the same key with a different input', async () => {
    const idem = new Idempotency(database.db);
    const key = freshKey();
    await idem.run('refundPayment', key, { merOrderId: '3194X', refundAmount: 10 }, async () => 'ok');
    const reuse = idem.run('refundPayment', key, { merOrderId: '3194X', refundAmount: 20 }, async () => 'again');
    await expect(reuse).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('keeps the same key apart per operation', async () => {
    const idem = new Idempotency(database.db);
    const key = freshKey();
    expect(await idem.run('createPayment', key, { a: 1 }, async () => 'create')).toBe('create');
    expect(await idem.run('refundPayment', key, { b: 2 }, async () => 'refund')).toBe('refund');
  });

  it('lets only one of two concurrent requests with one key do the work; the other gets its answer', async () => {
    const idem = new Idempotency(database.db);
    const key = freshKey();
    let calls = 0;
    const work = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 150));
      return { n: calls };
    };
    const input = { totalAmount: 1 };
    const answers = await Promise.all([idem.run('createPayment', key, input, work), idem.run('createPayment', key, input, work)]);
    expect(calls).toBe(1);
    expect(answers[0]).toEqual({ n: 1 });
    expect(answers[1]).toEqual({ n: 1 });
  });

  it('wakes a request waiting on a key held by another instance when that one answers, without re-reading on a timer', async () => {
    const holder = new Idempotency(database.db);
    const counted = countingDb(database.db);
    // Another instance: its own Idempotency, hearing the holder only through LISTEN/NOTIFY.
    const waiter = new Idempotency(counted.db, { listen: database, waitMs: 20_000 });
    const key = freshKey();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = holder.run('createPayment', key, { v: 1 }, async () => {
      started();
      await gate;
      return 'the answer';
    });
    await running;
    let ran = false;
    const second = waiter.run('createPayment', key, { v: 1 }, async () => ((ran = true), 'a second run'));
    // The holder works for a while; a waiter that re-read the key every 50 ms would claim ~10 times.
    await new Promise((r) => setTimeout(r, 600));
    const waitedAt = Date.now();
    release();
    expect(await first).toBe('the answer');
    expect(await second).toBe('the answer');
    expect(ran).toBe(false);
    expect(Date.now() - waitedAt).toBeLessThan(5_000);
    expect(counted.calls('insert')).toBeLessThanOrEqual(3);
    await waiter.close();
  });

  it('replays a UMS error (the order exists) but releases the key after a refusal that changed nothing', async () => {
    const idem = new Idempotency(database.db);
    const umsKey = freshKey();
    const rejected = new PaymentError('UMS_REJECTED', 'UMS refused: TARGET_FAIL', { merOrderId: '3194R', errCode: 'TARGET_FAIL' });
    await expect(idem.run('createPayment', umsKey, { x: 1 }, async () => Promise.reject(rejected))).rejects.toBe(rejected);
    let ran = false;
    const replayed = idem.run('createPayment', umsKey, { x: 1 }, async () => {
      ran = true;
      return 'no';
    });
    await expect(replayed).rejects.toMatchObject({ code: 'UMS_REJECTED', details: { merOrderId: '3194R', errCode: 'TARGET_FAIL' } });
    expect(ran).toBe(false);

    const badKey = freshKey();
    const bad = new PaymentError('BAD_USER_INPUT', 'totalAmount must be 1..100000000 fen', { field: 'totalAmount' });
    await expect(idem.run('createPayment', badKey, { x: 0 }, async () => Promise.reject(bad))).rejects.toBe(bad);
    expect(await idem.run('createPayment', badKey, { x: 1 }, async () => 'fixed')).toBe('fixed');
  });

  it('ignores and purges keys older than 24 hours', async () => {
    let now = new Date('2026-03-01T00:00:00Z');
    const idem = new Idempotency(database.db, { now: () => now });
    const key = freshKey();
    expect(await idem.run('createPayment', key, { v: 1 }, async () => 'first')).toBe('first');
    now = new Date(now.getTime() + 24 * 3600_000 + 1000);
    // A different input is no longer a reuse: the old key has expired.
    expect(await idem.run('createPayment', key, { v: 2 }, async () => 'second')).toBe('second');

    const old = freshKey();
    await idem.run('refundPayment', old, { v: 1 }, async () => 'x');
    now = new Date(now.getTime() + 25 * 3600_000);
    expect(await idem.purgeExpired()).toBeGreaterThanOrEqual(1);
    const left = await database.db.execute(sql`select count(*)::int as n from idempotency_keys where key = ${old}`);
    const rows = (Array.isArray(left) ? left : (left as { rows: unknown[] }).rows) as { n: number }[];
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('takes over a claim whose request died without answering', async () => {
    let now = new Date('2026-04-01T00:00:00Z');
    const idem = new Idempotency(database.db, { now: () => now, abandonAfterMs: 60_000, waitMs: 200 });
    const key = freshKey();
    const hash = hashRequest('createPayment', { v: 1 });
    await database.db.execute(
      sql`insert into idempotency_keys (key, operation, request_hash, created_at) values (${key}, 'createPayment', ${hash}, ${now.toISOString()})`,
    );
    await expect(idem.run('createPayment', key, { v: 1 }, async () => 'never')).rejects.toMatchObject({ code: 'CONFLICT' });
    now = new Date(now.getTime() + 61_000);
    expect(await idem.run('createPayment', key, { v: 1 }, async () => 'taken over')).toBe('taken over');
  });

  it('keeps a key that failed unexpectedly: the retry resumes with the same seed; another input is refused', async () => {
    const idem = new Idempotency(database.db);
    const key = freshKey();
    const seen: Attempt[] = [];
    const dbDown = new Error('connection terminated');
    await expect(
      idem.run('refundPayment', key, { r: 1 }, async (attempt) => {
        seen.push(attempt);
        throw dbDown;
      }),
    ).rejects.toBe(dbDown);
    await expect(idem.run('refundPayment', key, { r: 2 }, async () => 'other')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await idem.run('refundPayment', key, { r: 1 }, async (attempt) => (seen.push(attempt), 'resumed'))).toBe('resumed');
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ resumed: false });
    expect(seen[1]).toMatchObject({ resumed: true, seed: seen[0]!.seed });
    expect(seen[0]!.seed).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a take-over runs with the seed of the request that died, marked resumed', async () => {
    let now = new Date('2026-05-01T00:00:00Z');
    const idem = new Idempotency(database.db, { now: () => now, abandonAfterMs: 60_000, waitMs: 200 });
    const key = freshKey();
    const first = await idem.run('createPayment', key, { v: 9 }, async (attempt) => attempt).catch(() => undefined);
    // Make it look unanswered, as a crash leaves it.
    await database.db.execute(sql`update idempotency_keys set response = null where key = ${key}`);
    now = new Date(now.getTime() + 61_000);
    const taken = await idem.run('createPayment', key, { v: 9 }, async (attempt) => attempt);
    expect(taken).toEqual({ seed: first?.seed, resumed: true });
  });

  it('derives one well-formed order id per seed', () => {
    const a = idempotentOrderId('3194', 'ab'.repeat(32));
    expect(a).toBe(idempotentOrderId('3194', 'ab'.repeat(32)));
    expect(a).not.toBe(idempotentOrderId('3194', 'ac'.repeat(32)));
    expect(a).toHaveLength(27);
    expect(isOrderIdFor('3194', a)).toBe(true);
  });
});

