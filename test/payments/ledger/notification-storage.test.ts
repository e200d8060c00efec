/**
 * Notifications cost bounded storage, whatever is posted: a body is stored once and its repeats
 * are counted on its row, a rejected body is kept cut short, and an authentic notification is
 * never refused a row because its body was once rejected.
 */
import { expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { executeNamed } from '../../../src/db/named-statement.js';
import { notifications, paymentEvents, payments, type NotificationRow } from '../../../src/db/schema.js';
import { insertNewOrder, receiptsOf } from '../../../src/payments/ledger.js';
import { bodyHash, KEPT_DIAGNOSIS_BYTES, KEPT_REJECTED_BODY_BYTES } from '../../../src/payments/ledger/rows.js';
import { receiveNotification } from '../../../src/http/notify.js';
import { batchedDatabase } from './harness.js';
import { describeEachDatabase } from '../../support/db.js';
import { FORM, MID, NOTIFY_KEY, PREVIOUS_KEY, TID, formBody, newOrderId, notificationFields, signed } from '../notification-fixtures.js';

const silent = pino({ level: 'silent' });
/** How many notifications each storage loop posts; the bound is stated for 10,000 and checked by extrapolation. */
const LOOP = Number(process.env.LEDGER_STORAGE_LOOP ?? 1000);
/** 10 MB, read strictly (decimal). */
const BOUND_BYTES_PER_10_000 = 10_000_000;
const WARM_UP = 200;
/** A body just under the notify endpoint's 64 KiB limit. */
const FILLER = 60 * 1024;

describeEachDatabase('notification storage', (kind) => {
  const t = batchedDatabase(kind);

  const post = (body: string, keys: readonly string[] = [NOTIFY_KEY]) => receiveNotification({ db: t.h.db, batcher: t.batcher, keys: keys, log: silent }, { body, contentType: FORM });
  /** The rows with their receipts (receivedCount, lastReceivedAt), oldest first. */
  const withReceipts = async (rows: NotificationRow[]) =>
    Promise.all(rows.sort((a, b) => a.id - b.id).map(async (row) => ({ ...row, ...(await receiptsOf(t.h.db, row.id)) })));
  const rowsOfBody = async (body: string) => withReceipts(await t.h.db.select().from(notifications).where(eq(notifications.bodyHash, bodyHash(body))));
  const rowsOfOrder = async (merOrderId: string) => withReceipts(await t.h.db.select().from(notifications).where(eq(notifications.merOrderId, merOrderId)));
  const newOrder = async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(t.h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
    return merOrderId;
  };
  /** A forged notification: real fields, a large one, a signature made with a key we do not hold. */
  const forged = (merOrderId: string, filler = FILLER) =>
    formBody(signed({ ...notificationFields(merOrderId), attachedData: 'x'.repeat(filler) }, 'a key that is not ours 0123456789abcdef'));

  /** Bytes of every table of the schema with its indexes and TOAST; and of the whole database. */
  /**
   * `rows`: the main forks of every table and index (what grows with each row stored);
   * `database`: the whole database, which also holds per-relation costs that do not grow with the
   * count (free-space and visibility maps appear when autovacuum first visits a table) and so are
   * printed, not extrapolated.
   */
  async function sizes(): Promise<{ rows: number; database: number }> {
    const [row] = await executeNamed<{ rows: string; database: string }>(t.h.db, 'test_storage_sizes', sql`
      select (select sum(pg_relation_size(c.oid, 'main')) from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'public' and c.relkind in ('r', 'i', 't'))::bigint::text as rows,
             pg_database_size(current_database())::bigint::text as database`);
    return { rows: Number(row?.rows), database: Number(row?.database) };
  }

  async function inChunks(count: number, send: (i: number) => Promise<unknown>): Promise<void> {
    for (let i = 0; i < count; i += 25) await Promise.all(Array.from({ length: Math.min(25, count - i) }, (_, j) => send(i + j)));
  }

  it('keeps a rejected body cut short with the hash of the whole; the same body again counts on its row', async () => {
    const body = forged(newOrderId());
    const first = await post(body);
    const again = await post(body);
    expect([first.httpStatus, again.httpStatus]).toEqual([400, 400]);
    expect(again.notificationId).toBe(first.notificationId);
    const rows = await rowsOfBody(body);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ outcome: 'rejected', reason: 'bad-signature', receivedCount: 2, rawBody: body.slice(0, KEPT_REJECTED_BODY_BYTES) });
    expect(Buffer.byteLength(row?.diagnosis ?? '')).toBeLessThanOrEqual(KEPT_DIAGNOSIS_BYTES);
    expect(row?.lastReceivedAt?.getTime()).toBeGreaterThanOrEqual(row?.receivedAt.getTime() ?? Infinity);
  });

  it('counts a replay of an applied notification on its row; nothing else is written', async () => {
    const merOrderId = await newOrder();
    const body = formBody(signed(notificationFields(merOrderId)));
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await post(body));
    expect(results.map((r) => r.outcome)).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate']);
    const rows = await rowsOfOrder(merOrderId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'applied', receivedCount: 4, rawBody: body, id: results[0]?.notificationId });
    expect(await t.h.db.select().from(paymentEvents).where(eq(paymentEvents.merOrderId, merOrderId))).toHaveLength(2);
  });

  it('counts a redelivery with other bytes (re-signed, padded) on the first copy: padding cannot fill the disk', async () => {
    const merOrderId = await newOrder();
    const fields = notificationFields(merOrderId);
    const resigned = formBody(signed({ ...fields, ns: 'other' }));
    await post(formBody(signed(fields)));
    await post(resigned);
    await post(resigned);
    // What an attacker holding the genuine body can make of it: the same signed values, other bytes.
    for (let i = 1; i <= 20; i++) await post(`${formBody(signed(fields))}${'&'.repeat(i * 100)}&zz${i}=`);
    const rows = await rowsOfOrder(merOrderId);
    expect(rows.map((r) => [r.outcome, r.receivedCount])).toEqual([['applied', 23]]);
  });

  it('applies an authentic body that was rejected before (its key was not configured yet)', async () => {
    const merOrderId = await newOrder();
    const body = formBody(signed(notificationFields(merOrderId), PREVIOUS_KEY));
    expect(await post(body, [NOTIFY_KEY])).toMatchObject({ outcome: 'rejected', httpStatus: 400 });
    expect(await post(body, [NOTIFY_KEY, PREVIOUS_KEY])).toMatchObject({ outcome: 'applied', httpStatus: 200 });
    const [payment] = await t.h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
    expect(payment).toMatchObject({ status: 'TRADE_SUCCESS' });
    expect((await rowsOfBody(body)).map((r) => r.outcome).sort()).toEqual(['applied', 'rejected']);
  });

  it(`grows by at most 10 MB per 10,000 rejected or replayed notifications (measured on ${LOOP} of each kind)`, async () => {
    const grown = async (loop: () => Promise<void>) => {
      const before = await sizes();
      await loop();
      const after = await sizes();
      return { rows: after.rows - before.rows, database: after.database - before.database };
    };
    const ids = Array.from({ length: LOOP }, () => newOrderId());
    const forgedOne = forged(newOrderId());
    const paid = await newOrder();
    const valid = formBody(signed(notificationFields(paid)));
    expect(await post(valid)).toMatchObject({ outcome: 'applied' });
    // Warm-up, not measured: the first rows of a fresh table also create its index roots and
    // free-space maps, a fixed cost that a short loop would multiply into its extrapolation.
    await inChunks(WARM_UP, () => post(forged(newOrderId())));

    const growth = {
      distinctRejected: await grown(() => inChunks(LOOP, (i) => post(forged(ids[i] as string)))),
      repeatedRejected: await grown(() => inChunks(LOOP, () => post(forgedOne))),
      replayedValid: await grown(() => inChunks(LOOP, () => post(valid))),
    };
    const per10k = (bytes: number) => Math.round((bytes / LOOP) * 10_000);
    console.info(
      `[${kind.driver}] storage growth for ${LOOP} notifications of each kind (bytes; extrapolated to 10,000):`,
      JSON.stringify(Object.fromEntries(Object.entries(growth).map(([k, g]) => [k, { ...g, rowsPer10k: per10k(g.rows) }]))),
    );
    expect((await rowsOfBody(forgedOne))[0]).toMatchObject({ receivedCount: LOOP });
    expect((await rowsOfBody(valid))[0]).toMatchObject({ outcome: 'applied', receivedCount: LOOP + 1 });
    for (const g of Object.values(growth)) expect(per10k(g.rows)).toBeLessThanOrEqual(BOUND_BYTES_PER_10_000);
    // In all: every kind at once still fits the bound for 10,000 of them.
    const all = Object.values(growth).reduce((sum, g) => sum + g.rows, 0);
    expect(per10k(all) / 3).toBeLessThanOrEqual(BOUND_BYTES_PER_10_000);
  }, 600_000);
});
