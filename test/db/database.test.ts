import { afterEach, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, migrationsFolder } from '../../src/db/database.js';
import { payments } from '../../src/db/schema.js';
import { describeEachDatabase, describePostgres, onServer, postgresDatabase, urlFor, type TestDatabase } from '../support/db.js';

describeEachDatabase('openDatabase', (kind) => {
  let handle: TestDatabase | undefined;
  afterEach(async () => {
    await handle?.close();
    handle = undefined;
  });

  it('applies the migrations and reports ready', async () => {
    // An empty database, not a copy of the run's migrated template: the migrations run here.
    handle = await kind.open({ fresh: true });
    expect(handle.driver).toBe(kind.driver);
    expect(await handle.ready()).toBe(true);
    const rows = await handle.db.select().from(payments);
    expect(rows).toEqual([]);
  });

  it('is not ready once closed', async () => {
    handle = await kind.open();
    const h = handle;
    await h.db.execute(sql`select 1`);
    // For postgres the TestDatabase close also drops the database; ready() must then say false.
    await h.close();
    handle = undefined;
    expect(await h.ready()).toBe(false);
  });

  it('delivers NOTIFY payloads to a listener, only after commit', async () => {
    handle = await kind.open();
    const got: string[] = [];
    let listening = 0;
    const sub = await handle.listen('test_channel', (p) => got.push(p), () => listening++);
    await expect.poll(() => listening).toBe(1);
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_notify('test_channel', 'hello')`);
      await new Promise((r) => setTimeout(r, 50));
      expect(got).toEqual([]);
    });
    await expect.poll(() => got, { timeout: 5000 }).toEqual(['hello']);
    await sub.close();
  });
});

it('finds drizzle/ from src/db', () => {
  expect(migrationsFolder()).toMatch(/drizzle$/);
});

it('keeps PGlite files in PGLITE_DATA_DIR across restarts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pglite-'));
  try {
    const first = await openDatabase({ pgliteDataDir: join(dir, 'data') });
    await first.db.insert(payments).values({ merOrderId: '3194keep', status: 'NEW_ORDER', totalAmount: 1, mid: 'm', tid: 't' });
    await first.close();
    const second = await openDatabase({ pgliteDataDir: join(dir, 'data') });
    expect(await second.ready()).toBe(true);
    expect((await second.db.select().from(payments)).map((p) => p.merOrderId)).toEqual(['3194keep']);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describePostgres('openDatabase on a real server', () => {
  it('lets several instances start on one fresh database at once', async () => {
    const first = await postgresDatabase();
    try {
      // The fresh database is migrated; run three more starts at the same time on a second one.
      const name = `${first.name}_b`;
      await onServer((sql) => sql.unsafe(`CREATE DATABASE ${name}`));
      try {
        const handles = await Promise.all([0, 1, 2].map(() => openDatabase({ url: urlFor(name) })));
        for (const h of handles) expect(await h.ready()).toBe(true);
        await Promise.all(handles.map((h) => h.close()));
      } finally {
        await onServer((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      }
    } finally {
      await first.close();
    }
  });

  it('listens again after the connection is cut, and says so through onListen', async () => {
    const h = await postgresDatabase();
    try {
      const got: string[] = [];
      let listening = 0;
      const sub = await h.listen('test_channel', (p) => got.push(p), () => listening++);
      await expect.poll(() => listening).toBe(1);
      await onServer((sql) => sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${h.name as string} and pid <> pg_backend_pid()`);
      await expect.poll(() => listening, { timeout: 15_000 }).toBe(2);
      await h.db.execute(sql`select pg_notify('test_channel', 'after reconnect')`);
      await expect.poll(() => got, { timeout: 5000 }).toEqual(['after reconnect']);
      await sub.close();
    } finally {
      await h.close();
    }
  });
});
