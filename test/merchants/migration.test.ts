/**
 * The merchants migration on a database with today's payments: every existing payment (and
 * notification) stays the `default` merchant's, and new merchants can be stored beside them.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { asc, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/database.js';
import { merchants, payments } from '../../src/db/schema.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** drizzle/ as it was before the merchants migration (same files, a journal that ends before it). */
function migrationsBeforeMerchants(): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  dirs.push(dir);
  cpSync(migrationsFolder(), dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag.endsWith('_merchants'));
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

it('keeps the payments stored before merchants existed under `default` [pglite]', async () => {
  const client = new PGlite();
  const db = drizzle(client);
  try {
    await migrate(db, { migrationsFolder: migrationsBeforeMerchants() });
    for (const id of ['3194OLD0000001', '3194OLD0000002']) {
      await db.execute(sql`insert into payments (mer_order_id, status, total_amount, mid, tid) values (${id}, 'TRADE_SUCCESS', 100, '898201612345678', '88880001')`);
    }
    await migrate(db, { migrationsFolder: migrationsFolder() });

    const rows = await db.select({ id: payments.merOrderId, merchantId: payments.merchantId }).from(payments).orderBy(asc(payments.merOrderId));
    expect(rows).toEqual([
      { id: '3194OLD0000001', merchantId: 'default' },
      { id: '3194OLD0000002', merchantId: 'default' },
    ]);
    expect(await db.select().from(merchants)).toEqual([]);
  } finally {
    await client.close();
  }
}, 60_000);
