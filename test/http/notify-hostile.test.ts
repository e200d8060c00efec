/**
 * POST /notify/ums against bodies built to hurt (CONTRACT.md "Modes, limits and hostile input"):
 * any body up to 64 KiB is answered with bounded work, and the gateway keeps answering /healthz
 * meanwhile. A real server over HTTP; the bounds are generous (seconds), they catch work that
 * grows with the square of the body, not a slow machine.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { notifications, payments } from '../../src/db/schema.js';
import { buildServer } from '../../src/http/server.js';
import { NOTIFY_BODY_LIMIT, notifyRoute, type NotifyAnswer } from '../../src/http/notify.js';
import { insertNewOrder, NotificationBatcher } from '../../src/payments/ledger.js';
import { bodyHash } from '../../src/payments/ledger/rows.js';
import { DiagnosisBudget } from '../../src/ums/sign-doctor.js';
import { notifySigningString } from '../../src/ums/sign.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { FORM, MID, NOTIFY_KEY, TID, formBody, newOrderId, notificationFields, signed } from '../payments/notification-fixtures.js';

const silent = pino({ level: 'silent' });
/** Generous: today's code took 8 s for the 2,000-field body and ran out of memory on 64 KiB. */
const BOUND_MS = 2_000;
/** The route's diagnosis budget in this suite: a few at once, then hardly any. */
const BURST = 5;

/** A bad-signature body shaped like a notification, with `count` more fields of `value`. */
function padded(count: number, value = '%2B+'): string {
  let body = `${formBody(signed(notificationFields(newOrderId()), 'not-the-key'))}`;
  for (let i = 1; i <= count; i++) body += `&f${i}=${value}`;
  return body;
}

/** As many `&fN=%2B+` fields as fit in the body limit. */
function paddedToLimit(): string {
  let body = formBody(signed(notificationFields(newOrderId()), 'not-the-key'));
  for (let i = 1; ; i++) {
    const next = `&f${i}=%2B+`;
    if (body.length + next.length > NOTIFY_BODY_LIMIT) return body;
    body += next;
  }
}

/** Few fields, each value as long as the limit allows, full of what the doctor decodes again. */
function longValuesToLimit(fields: number): string {
  const head = formBody(signed(notificationFields(newOrderId()), 'not-the-key'));
  const each = Math.floor((NOTIFY_BODY_LIMIT - head.length) / fields) - `&v${fields}=`.length;
  let body = head;
  for (let i = 1; i <= fields; i++) body += `&v${i}=${'%2B+%25'.repeat(Math.floor(each / 7))}`;
  return body;
}

describeEachDatabase('POST /notify/ums under hostile bodies', (kind) => {
  let h: TestDatabase;
  let app: FastifyInstance;
  let base: string;
  const answers: NotifyAnswer[] = [];
  // The budget's clock: moved on to refill it, so each test decides whether the doctor runs.
  let clock = 0;
  const refill = () => {
    clock += 3_600_000;
  };

  beforeAll(async () => {
    h = await kind.open();
    app = await buildServer({
      log: silent,
      ready: () => h.ready(),
      plugins: [
        notifyRoute({
          db: h.db,
          batcher: new NotificationBatcher(h.db),
          keys: () => [NOTIFY_KEY],
          log: silent,
          onOutcome: (a) => answers.push(a),
          diagnosis: new DiagnosisBudget({ burst: BURST, perSecond: 1, now: () => clock }),
        }),
      ],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  const timed = async <T>(work: Promise<T>): Promise<{ value: T; ms: number }> => {
    const started = performance.now();
    const value = await work;
    return { value, ms: performance.now() - started };
  };
  const post = async (body: string, contentType = FORM) => {
    const res = await fetch(`${base}/notify/ums`, { method: 'POST', headers: { 'content-type': contentType }, body });
    return { status: res.status, text: await res.text() };
  };
  const healthz = async () => (await fetch(`${base}/healthz`)).status;
  const storedRow = async (body: string) => (await h.db.select().from(notifications).where(eq(notifications.bodyHash, bodyHash(body))))[0];
  const paymentOf = async (merOrderId: string) => (await h.db.select().from(payments).where(eq(payments.merOrderId, merOrderId)))[0];

  /** Posts `body` with a /healthz request in flight beside it; both must come back within the bound. */
  async function expectBounded(body: string, contentType = FORM) {
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(NOTIFY_BODY_LIMIT);
    const [notify, health] = await Promise.all([timed(post(body, contentType)), timed(healthz())]);
    expect(notify.value).toEqual({ status: 400, text: 'FAILED' });
    expect(health.value).toBe(200);
    expect(notify.ms).toBeLessThan(BOUND_MS);
    expect(health.ms).toBeLessThan(BOUND_MS);
  }

  it('a flood of forged bodies is answered, and only the first few are diagnosed', async () => {
    refill();
    const bodies = Array.from({ length: 40 }, () => formBody(signed(notificationFields(newOrderId()), 'not-the-key')));
    const results = await timed(Promise.all(bodies.map((b) => post(b))));
    expect(results.value.every((r) => r.status === 400 && r.text === 'FAILED')).toBe(true);
    expect(results.ms).toBeLessThan(BOUND_MS * 5);
    const diagnoses = await Promise.all(bodies.map(async (b) => (await storedRow(b))?.diagnosis ?? ''));
    const full = diagnoses.filter((d) => d.startsWith('bad-signature/wrong-key'));
    const skipped = diagnoses.filter((d) => d.startsWith('bad-signature/not-diagnosed'));
    expect(full).toHaveLength(BURST);
    expect(full.length + skipped.length).toBe(bodies.length);
  });

  it('2,000 fields of "%2B+" after a bad signature: refused as too many fields, quickly', async () => {
    const body = padded(2_000);
    await expectBounded(body);
    expect(await storedRow(body)).toMatchObject({ outcome: 'rejected', reason: 'too-many-fields' });
  });

  it('a 64 KiB body of "%2B+" fields', async () => {
    await expectBounded(paddedToLimit());
    expect(answers.at(-1)).toMatchObject({ outcome: 'rejected', reason: 'too-many-fields' });
  });

  it('a 64 KiB body within the field cap, every value full of what the doctor decodes again', async () => {
    for (const fields of [10, 150]) {
      refill();
      const body = longValuesToLimit(fields);
      await expectBounded(body);
      // Diagnosed in full (the budget had tokens), within the bound all the same.
      expect(await storedRow(body)).toMatchObject({ outcome: 'rejected', reason: 'bad-signature', diagnosis: expect.stringMatching(/^bad-signature\/wrong-key/) });
    }
  });

  it('weird names, an endless name, thousands of empty pairs and of repeated names', async () => {
    const genuine = formBody(signed(notificationFields(newOrderId())));
    const cases: [string, string][] = [
      [`${genuine}&a%20b=1`, 'invalid-field-name'],
      [`${genuine}&%00=1`, 'invalid-field-name'],
      [`${genuine}&%E2%80%AEsign=1`, 'invalid-field-name'],
      [`${genuine}&${'n'.repeat(60_000)}=1`, 'invalid-field-name'],
      [`${'&'.repeat(60_000)}`, 'unparsable-body'],
      [`${genuine}${'&ns=1'.repeat(10_000)}`, 'too-many-fields'],
      [`${genuine}${'&x'.repeat(25_000)}`, 'too-many-fields'],
    ];
    for (const [body, reason] of cases) {
      await expectBounded(body);
      expect(answers.at(-1), reason).toMatchObject({ outcome: 'rejected', reason });
    }
  });

  it('JSON bodies: ten thousand members, nesting too deep to re-serialise', async () => {
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`f${i}`, '+'])));
    await expectBounded(wide, 'application/json');
    expect(answers.at(-1)).toMatchObject({ reason: 'too-many-fields' });
    const deep = `{"merOrderId":"${newOrderId()}","x":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    await expectBounded(deep, 'application/json');
    expect(answers.at(-1)).toMatchObject({ reason: 'unparsable-body' });
  });

  it('the re-split of a signed notification is refused, and the order it names is untouched', async () => {
    const victim = newOrderId();
    await insertNewOrder(h.db, { merOrderId: victim, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
    const own = newOrderId();
    const injected = `x&merOrderId=${victim}&status=TRADE_SUCCESS&totalAmount=100&zz=y`;
    const genuine = signed(notificationFields(own, { totalAmount: '1', buyerPayAmount: '1', receiptAmount: '1', attachedData: injected }));
    const text = notifySigningString(genuine);
    const resplit = {
      attachedData: 'x',
      merOrderId: victim,
      status: 'TRADE_SUCCESS',
      totalAmount: '100',
      zz: text.slice(text.indexOf('&zz=y&') + '&zz='.length),
      sign: genuine.sign ?? '',
    };
    const body = formBody(resplit);
    await expectBounded(body);
    expect(await storedRow(body)).toMatchObject({ outcome: 'rejected', reason: 'ambiguous-field:zz', verified: true });
    expect(await paymentOf(victim)).toMatchObject({ status: 'NEW_ORDER', version: 1 });
    // What UMS signed is refused as well: its attachedData holds the same fields.
    expect(await post(formBody(genuine))).toEqual({ status: 400, text: 'FAILED' });
    expect(await storedRow(formBody(genuine))).toMatchObject({ reason: 'ambiguous-field:attachedData', verified: true });
    expect(await paymentOf(own)).toBeUndefined();
  });

  it('a repeated name keeps its first value, and the stored notification says so', async () => {
    const merOrderId = newOrderId();
    await insertNewOrder(h.db, { merOrderId, totalAmount: 100, mid: MID, tid: TID, channel: 'WECHAT_MINI' });
    const other = newOrderId();
    const body = `${formBody(signed(notificationFields(merOrderId)))}&merOrderId=${other}&status=TRADE_CLOSED&totalAmount=1`;
    expect(await post(body)).toEqual({ status: 200, text: 'SUCCESS' });
    expect(await paymentOf(merOrderId)).toMatchObject({ status: 'TRADE_SUCCESS', version: 2, needsReview: false });
    expect(await paymentOf(other)).toBeUndefined();
    const row = await storedRow(body);
    expect(row).toMatchObject({ outcome: 'applied', verified: true, merOrderId });
    expect(row?.diagnosis).toMatch(/repeated field\(s\) merOrderId, status, totalAmount: the first value of each was used/);
  });
});
