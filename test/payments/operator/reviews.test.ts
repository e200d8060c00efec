/**
 * The review queue over HTTP against the real simulator: a payment UMS reports with another
 * amount is flagged; payments(needsReview) lists it; resolveReview DISMISS / ACCEPT / REFUND each
 * close the case with an OPERATOR event carrying the note and the acting key; REFUND refunds once
 * however often it runs; a flag raised again is a new case.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../../src/app.js';
import { describeEachDatabase } from '../../support/db.js';
import { and, eq } from 'drizzle-orm';
import { paymentEvents } from '../../../src/db/schema.js';
import { paymentUnderReview } from '../../../src/payments/ledger.js';
import { listRuns } from '../../../src/payments/reconcile/runs.js';
import { subscribe } from '../../app/support.js';
import { ADMIN, ADMIN_ACTOR, admin, createPayment, payment, paymentUntil, sharedStore, simPay, startInstance, until, type SharedStore } from './support.js';

const RESOLVE = `mutation($id: ID!, $r: ReviewResolution!, $note: String!) {
  resolveReview(merOrderId: $id, resolution: $r, note: $note) { merOrderId status version needsReview reviewReason refundedAmount }
}`;
const QUEUE = `query { payments(needsReview: true, first: 100) { edges { node { merOrderId reviewReason } } } }`;

type Resolved = { resolveReview: { merOrderId: string; status: string; version: number; needsReview: boolean; reviewReason: string | null; refundedAmount: number } };

describeEachDatabase('resolveReview', (kind) => {
  let store: SharedStore;
  let gw: Gateway;

  beforeAll(async () => {
    store = await sharedStore(kind);
    gw = await startInstance(store);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await store?.close();
  });

  /** A payment of 200 fen that UMS records as paid with 150: the ledger flags it (mismatch:totalAmount). */
  async function flagged(): Promise<string> {
    const id = await createPayment(gw, 200);
    await simPay(gw.simulator!.url, id, { amount: 150 });
    await paymentUntil(gw, id, 'the review flag', (p) => p.needsReview);
    return id;
  }

  async function queue(): Promise<string[]> {
    const answer = await admin<{ payments: { edges: { node: { merOrderId: string } }[] } }>(gw, QUEUE);
    return answer.data!.payments.edges.map((e) => e.node.merOrderId);
  }

  it('DISMISS clears the flag with an OPERATOR event (note, actor); a flag raised again is a new case in the queue', async () => {
    const id = await flagged();
    expect(await queue()).toContain(id);
    const before = await payment(gw, id);
    const answer = await admin<Resolved>(gw, RESOLVE, { id, r: 'DISMISS', note: 'checked with the buyer' });
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.resolveReview).toMatchObject({ needsReview: false, reviewReason: null, status: before.status, version: before.version + 1 });
    expect(await queue()).not.toContain(id);

    const after = await payment(gw, id);
    const event = after.events.at(-1)!;
    expect(event).toMatchObject({ source: 'OPERATOR', status: before.status, previousStatus: before.status, version: before.version + 1, reason: 'DISMISS: checked with the buyer' });
    // The acting key, never the key itself (GraphQL shows `actor` once the event feed's field lands).
    const [row] = await gw.database.db
      .select({ actor: paymentEvents.actor })
      .from(paymentEvents)
      .where(and(eq(paymentEvents.merOrderId, id), eq(paymentEvents.source, 'OPERATOR')));
    expect(row?.actor).toBe(ADMIN_ACTOR);

    // UMS says it again (same amount mismatch): the ledger flags it again, a new case.
    const res = await fetch(`${gw.simulator!.url}/_sim/orders/${id}/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    await paymentUntil(gw, id, 'the flag raised again', (p) => p.needsReview);
    expect(await queue()).toContain(id);
  });

  it('pushes the resolution to subscribers as an OPERATOR change (status unchanged, version + 1)', async () => {
    const id = await flagged();
    const before = await payment(gw, id);
    const sub = subscribe<{ paymentStatusChanged: { source: string; status: string; previousStatus: string | null; payment: { version: number } } }>(
      gw.url,
      'subscription($id: ID) { paymentStatusChanged(merOrderId: $id) { source status previousStatus payment { version } } }',
      { id },
      ADMIN,
    );
    try {
      await until('the current state', () => sub.seen[0]);
      const answer = await admin<Resolved>(gw, RESOLVE, { id, r: 'DISMISS', note: 'seen' });
      expect(answer.errors).toBeUndefined();
      const pushed = await until('the OPERATOR change', () => sub.seen.find((c) => c.paymentStatusChanged.source === 'OPERATOR'));
      expect(pushed.paymentStatusChanged).toMatchObject({ status: before.status, previousStatus: before.status, payment: { version: before.version + 1 } });
    } finally {
      await sub.close();
    }
  });

  it("a merchant admin's scope: another merchant's payment is not there, nor its runs", async () => {
    const id = await flagged();
    await expect(paymentUnderReview(gw.database.db, id, 'another-merchant')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(paymentUnderReview(gw.database.db, id, 'default')).resolves.toMatchObject({ caseNumber: expect.any(Number) });
    expect(await listRuns(gw.database.db, 100, 'another-merchant')).toEqual([]);
    const unknownMerchant = await admin(gw, 'mutation { reconcile(date: "2026-01-01", merchantId: "nosuch") { id } }');
    expect(unknownMerchant.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const badMerchant = await admin(gw, 'mutation { reconcile(date: "2026-01-01", merchantId: "Not Valid!") { id } }');
    expect(badMerchant.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a payment not under review, an unknown one and a bad note are refused, nothing changed', async () => {
    const id = await createPayment(gw, 300);
    const before = await payment(gw, id);
    const notUnder = await admin<Resolved>(gw, RESOLVE, { id, r: 'DISMISS', note: 'nothing' });
    expect(notUnder.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(notUnder.errors?.[0]?.message).toMatch(/not under review/);
    const unknown = await admin<Resolved>(gw, RESOLVE, { id: '3194NOPE', r: 'DISMISS', note: 'x' });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const flaggedId = await flagged();
    for (const note of ['', '   ', 'x'.repeat(501), 'bell\u0007']) {
      const bad = await admin<Resolved>(gw, RESOLVE, { id: flaggedId, r: 'DISMISS', note });
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect((await payment(gw, flaggedId)).needsReview).toBe(true);
    expect((await payment(gw, id)).version).toBe(before.version);
    const reader = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer pk_web' },
      body: JSON.stringify({ query: RESOLVE, variables: { id: flaggedId, r: 'DISMISS', note: 'x' } }),
    });
    expect(((await reader.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
  });

  it('ACCEPT records the payment UMS has as paid (UMS amount in buyerPayAmount, totalAmount kept) and clears the flag', async () => {
    const id = await flagged();
    const answer = await admin<Resolved>(gw, RESOLVE, { id, r: 'ACCEPT', note: 'buyer paid 150, accepted' });
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.resolveReview).toMatchObject({ status: 'TRADE_SUCCESS', needsReview: false });
    const after = await payment(gw, id);
    expect(after).toMatchObject({ totalAmount: 200, buyerPayAmount: 150 });
    expect(after.events.slice(-2).map((e) => [e.source, e.status])).toEqual([
      ['OPERATOR', 'TRADE_SUCCESS'],
      ['OPERATOR', 'TRADE_SUCCESS'],
    ]);
  });

  it('REFUND refunds what is left at UMS, once, however often it runs (sequential and concurrent)', async () => {
    const id = await flagged();
    const first = await admin<Resolved>(gw, RESOLVE, { id, r: 'REFUND', note: 'refund the odd amount' });
    expect(first.errors).toBeUndefined();
    expect(first.data!.resolveReview).toMatchObject({ needsReview: false, refundedAmount: 150, status: 'TRADE_REFUND' });
    // UMS's refund notice carries its 150 again, which the ledger may flag as a new case before
    // this second run: either way nothing is left at UMS, so nothing more is refunded.
    const again = await admin<Resolved>(gw, RESOLVE, { id, r: 'REFUND', note: 'again' });
    if (again.errors) expect(again.errors[0]?.extensions?.code).toBe('CONFLICT');
    expect(gw.simulator!.order(id)!.refunds).toHaveLength(1);

    const racing = await flagged();
    const answers = await Promise.all([1, 2, 3].map((n) => admin<Resolved>(gw, RESOLVE, { id: racing, r: 'REFUND', note: `try ${n}` })));
    expect(answers.filter((a) => !a.errors)).not.toHaveLength(0);
    const after = await payment(gw, racing);
    // (UMS's refund notice, with its 150 again, may already have opened a new case: not asserted here.)
    expect(gw.simulator!.order(racing)!.refunds).toHaveLength(1);
    expect(after.refunds).toHaveLength(1);
    expect(after.refundedAmount).toBe(150);
  });
});
