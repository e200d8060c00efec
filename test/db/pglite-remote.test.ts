/**
 * PGlite in a worker thread (src/db/pglite-worker.ts, pglite-remote.ts), as `npm start` opens it:
 * through openDatabase, so Drizzle, the migrator, LISTEN and the data directory's lock are the
 * ones the gateway uses. The answers must be those of an in-thread PGlite: types, errors,
 * transactions, notifications.
 */
import { eq, inArray, sql } from 'drizzle-orm';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { DataDirInUseError, LOCK_FILE } from '../../src/db/data-dir-lock.js';
import { startPgliteWorker } from '../../src/db/pglite-worker.js';
import { payments } from '../../src/db/schema.js';

const open = (dataDir = 'memory://') => openDatabase({ pgliteWorker: startPgliteWorker(dataDir) });

// One database for the tests that do not close it (an open is seconds on a busy machine); each uses rows of its own.
describe('PGlite in a worker thread', { timeout: 60_000 }, () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await open();
  }, 60_000);
  afterAll(() => handle?.close());

  it('applies the migrations and reports ready', async () => {
    expect(handle.driver).toBe('pglite');
    expect(await handle.ready()).toBe(true);
    expect(await handle.db.select().from(payments).where(sql`false`)).toEqual([]);
  });

  it('answers rows with the types an in-thread PGlite gives', async () => {
    await handle.db.insert(payments).values({ merOrderId: '3194remote', status: 'NEW_ORDER', totalAmount: 1234, mid: 'm', tid: 't' });
    const [row] = await handle.db.select().from(payments).where(eq(payments.merOrderId, '3194remote'));
    expect(row).toMatchObject({ merOrderId: '3194remote', status: 'NEW_ORDER', totalAmount: 1234 });
    expect(row?.createdAt).toBeInstanceOf(Date);
    const raw = await handle.db.execute(sql`select ${'a'}::text as t, ${7}::int as i, array[1,2]::int[] as a, '{"k":1}'::jsonb as j, null::text as n`);
    expect((raw as unknown as { rows: unknown[] }).rows).toEqual([{ t: 'a', i: 7, a: [1, 2], j: { k: 1 }, n: null }]);
  });

  it('throws Postgres errors with their code, and keeps answering after one', async () => {
    const values = { merOrderId: '3194dup', status: 'NEW_ORDER' as const, totalAmount: 1, mid: 'm', tid: 't' };
    await handle.db.insert(payments).values(values);
    const err = await handle.db.insert(payments).values(values).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Drizzle wraps the driver's error; under it, PGlite's DatabaseError with the Postgres code.
    expect((err as { cause?: unknown }).cause).toMatchObject({ code: '23505', constraint: expect.any(String) });
    expect((await handle.db.select().from(payments).where(eq(payments.merOrderId, '3194dup'))).length).toBe(1);
  });

  it('rolls a transaction back when its callback throws, and commits otherwise', async () => {
    const db = handle.db;
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(payments).values({ merOrderId: '3194gone', status: 'NEW_ORDER', totalAmount: 1, mid: 'm', tid: 't' });
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    await db.transaction(async (tx) => {
      await tx.insert(payments).values({ merOrderId: '3194kept', status: 'NEW_ORDER', totalAmount: 1, mid: 'm', tid: 't' });
    });
    expect((await db.select().from(payments).where(inArray(payments.merOrderId, ['3194gone', '3194kept']))).map((p) => p.merOrderId)).toEqual(['3194kept']);
  });

  it('delivers NOTIFY payloads to a listener, only after commit, and not after it stops listening', async () => {
    const got: string[] = [];
    const sub = await handle.listen('test_channel', (p) => got.push(p));
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_notify('test_channel', 'hello')`);
      await new Promise((r) => setTimeout(r, 20));
      expect(got).toEqual([]);
    });
    await expect.poll(() => got).toEqual(['hello']);
    await sub.close();
    await handle.db.execute(sql`select pg_notify('test_channel', 'late')`);
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual(['hello']);
  });

});

it('locks its data directory until closed, is not ready once closed, and keeps the data across opens', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pglite-remote-'));
  const data = join(dir, 'data');
  let handle: DatabaseHandle | undefined;
  try {
    handle = await open(data);
    await handle.db.insert(payments).values({ merOrderId: '3194disk', status: 'NEW_ORDER', totalAmount: 1, mid: 'm', tid: 't' });
    expect(existsSync(join(data, LOCK_FILE))).toBe(true);
    expect(() => startPgliteWorker(data)).toThrow(DataDirInUseError);
    const closed = handle;
    handle = undefined;
    await closed.close();
    expect(await closed.ready()).toBe(false);
    expect(existsSync(join(data, LOCK_FILE))).toBe(false);
    handle = await open(data);
    expect((await handle.db.select().from(payments)).map((p) => p.merOrderId)).toEqual(['3194disk']);
  } finally {
    await handle?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
