/**
 * Migration 0003 (bounded notification storage) on a database that has notifications stored the
 * old way: every row gets the hash of its body, copies of one rejected or duplicate body become
 * one row with its repeats counted, rejected bodies are cut short, and first authentic copies
 * (the rows events name) are kept whole.
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
import { notificationRepeats, notifications } from '../../src/db/schema.js';
import { bodyHash, KEPT_DIAGNOSIS_BYTES, KEPT_REJECTED_BODY_BYTES } from '../../src/payments/ledger/rows.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** drizzle/ as it was before migration `tag` (same files, a journal that ends before it). */
function migrationsBefore(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  dirs.push(dir);
  cpSync(migrationsFolder(), dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

it('migrates notifications stored the old way sanely [pglite]', async () => {
  const client = new PGlite();
  const db = drizzle(client);
  try {
    await migrate(db, { migrationsFolder: migrationsBefore('0003_notification_storage') });
    const big = `merOrderId=3194x&status=TRADE_SUCCESS&junk=${'y'.repeat(40_000)}`;
    const applied = 'merOrderId=3194a&status=TRADE_SUCCESS&sign=abc';
    const copy = 'merOrderId=3194a&status=TRADE_SUCCESS&sign=abc&ns=2';
    const insert = (rawBody: string, outcome: string, dedupeKey: string | null, at: string) =>
      db.execute(sql`insert into notifications (raw_body, verified, outcome, dedupe_key, received_at, diagnosis)
        values (${rawBody}, ${outcome !== 'rejected'}, ${outcome}, ${dedupeKey}, ${at}::timestamptz, ${outcome === 'rejected' ? 'd'.repeat(1000) : null})`);
    await insert(applied, 'applied', 'n|1', '2026-01-01T00:00:00Z');
    await insert(applied, 'duplicate', null, '2026-01-02T00:00:00Z');
    await insert(copy, 'duplicate', null, '2026-01-03T00:00:00Z');
    await insert(copy, 'duplicate', null, '2026-01-04T00:00:00Z');
    await insert(big, 'rejected', null, '2026-01-05T00:00:00Z');
    await insert(big, 'rejected', null, '2026-01-06T00:00:00Z');
    await insert(big, 'rejected', null, '2026-01-07T00:00:00Z');

    await migrate(db, { migrationsFolder: migrationsFolder() });

    const rows = await db.select().from(notifications).orderBy(asc(notifications.id));
    const repeats = await db.select().from(notificationRepeats);
    const repeatsOf = (id: number) => repeats.find((r) => r.notificationId === id);
    expect(rows.map((r) => [r.outcome, r.bodyHash])).toEqual([
      ['applied', bodyHash(applied)],
      ['duplicate', bodyHash(applied)],
      ['duplicate', bodyHash(copy)],
      ['rejected', bodyHash(big)],
    ]);
    const [first, secondCopy, resigned, rejected] = rows;
    expect(first?.rawBody).toBe(applied);
    expect(repeatsOf(first?.id as number)).toBeUndefined();
    expect(repeatsOf(secondCopy?.id as number)).toBeUndefined();
    expect(repeatsOf(resigned?.id as number)).toMatchObject({ repeats: 1, lastReceivedAt: new Date('2026-01-04T00:00:00Z') });
    expect(repeatsOf(rejected?.id as number)).toMatchObject({ repeats: 2, lastReceivedAt: new Date('2026-01-07T00:00:00Z') });
    expect(rejected?.rawBody).toBe(big.slice(0, KEPT_REJECTED_BODY_BYTES));
    expect(rejected?.diagnosis?.length).toBeLessThanOrEqual(KEPT_DIAGNOSIS_BYTES);
    // The hash the migration computed is the one the ledger computes: a repeat of an old body is recognised.
    expect(rejected?.bodyHash).toBe(bodyHash(big));
  } finally {
    await client.close();
  }
}, 60_000);
