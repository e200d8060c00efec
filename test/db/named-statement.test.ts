/**
 * src/db/named-statement.ts reaches into Drizzle's session to send raw SQL as a named statement.
 * If a Drizzle upgrade changes that, these fail: rows must come back on both drivers, and on a
 * real server the statement must be prepared on the connection (one round trip from then on).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { executeNamed, namedStatement } from '../../src/db/named-statement.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';

describeEachDatabase('executeNamed', (kind) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await kind.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers the rows of a statement with parameters, on the database and in a transaction', async () => {
    const statement = (n: number) => sql`select ${n}::int + 1 as next, ${'x'}::text as label`;
    expect(await executeNamed(h.db, 'test_next', statement(1))).toEqual([{ next: 2, label: 'x' }]);
    const inTx = await h.db.transaction((tx) => executeNamed(tx, 'test_next', statement(41)));
    expect(inTx).toEqual([{ next: 42, label: 'x' }]);
  });

  it('builds a statement once and runs it with each call\'s placeholder values, on the database and in a transaction', async () => {
    const next = namedStatement<{ next: number; label: string }>('test_built_once', sql`select ${sql.placeholder('n')}::int + 1 as next, ${'y'}::text as label`);
    expect(await next.execute(h.db, { n: 1 })).toEqual([{ next: 2, label: 'y' }]);
    expect(await next.execute(h.db, { n: 9 })).toEqual([{ next: 10, label: 'y' }]);
    expect(await h.db.transaction((tx) => next.execute(tx, { n: 41 }))).toEqual([{ next: 42, label: 'y' }]);
  });

  it.runIf(kind.driver === 'postgres')('leaves the statement prepared on its connection', async () => {
    const text = 'select $1::text as echoed_by_named_statement_test';
    const prepared = await h.db.transaction(async (tx) => {
      await executeNamed(tx, 'test_echo', sql`select ${'hello'}::text as echoed_by_named_statement_test`);
      // Same transaction, same connection: its prepared statements are visible here.
      return executeNamed<{ statement: string }>(tx, 'test_list', sql`select statement from pg_prepared_statements where statement = ${text}`);
    });
    expect(prepared).toEqual([{ statement: text }]);
  });
});
