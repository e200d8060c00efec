/**
 * ws-admission.ts keeps parsed and validated subscription documents by query text, so that equal
 * subscriptions hold one document (and share executions), but never a long text, and never more
 * text in all than its bound: a 1 MiB document of comments is valid, and 500 of them must not stay
 * in memory.
 */
import { beforeAll, expect, it } from 'vitest';
import { specifiedRules, type GraphQLSchema } from 'graphql';
import { buildGatewaySchema } from '../../src/graphql/schema.js';
import { OperationAdmission, type AdmissionOptions, type AdmittedOperation } from '../../src/graphql/ws-admission.js';

let schema: GraphQLSchema;
const rules = [...specifiedRules];
beforeAll(async () => {
  schema = await buildGatewaySchema({ simulatorMode: false });
});

const admission = (options: Partial<AdmissionOptions> = {}) => new OperationAdmission({ schema, rules, schemaDetails: false, ...options });
const admitted = (on: OperationAdmission, query: string) => on.admit({ query }) as AdmittedOperation;
const SUBSCRIPTION = 'subscription { paymentStatusChanged(mid: "898201612345678") { status } }';

it('hands out one document for one text', () => {
  const on = admission();
  const first = admitted(on, SUBSCRIPTION);
  expect(first.document).toBeDefined();
  expect(admitted(on, SUBSCRIPTION).document).toBe(first.document);
});

it('keeps documents per admission (schema and rules), not across them', () => {
  const first = admitted(admission(), SUBSCRIPTION);
  expect(admitted(admission(), SUBSCRIPTION).document).not.toBe(first.document);
});

it('does not keep a long text', () => {
  const on = admission();
  const long = `${SUBSCRIPTION}\n# ${'x'.repeat(20_000)}`;
  const first = admitted(on, long);
  expect(first.document).toBeDefined();
  expect(admitted(on, long).document).not.toBe(first.document);
});

it('keeps no more text in all than its bound, forgetting the least recently used first', () => {
  const on = admission({ maxKnownBytes: 64 * 1024 });
  const text = (i: number) => `${SUBSCRIPTION}\n# ${String(i).padStart(15_000, '.')}`;
  const documents = Array.from({ length: 5 }, (_, i) => admitted(on, text(i)).document);
  // 5 × 15 KB > 64 KiB: the first was forgotten, the last is still known.
  expect(admitted(on, text(4)).document).toBe(documents[4]);
  expect(admitted(on, text(0)).document).not.toBe(documents[0]);
});

it('still refuses an invalid document every time', () => {
  const on = admission();
  for (let i = 0; i < 2; i++) {
    expect(on.admit({ query: 'subscription { nope }' })).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) }),
    ]);
  }
});

it('leaves "Did you mean" hints out without schema details, and in with them', () => {
  const typo = { query: 'subscription { paymentStatusChangd { status } }' };
  const [hidden] = admission().admit(typo) as readonly { message: string }[];
  expect(hidden?.message).toBe('Cannot query field "paymentStatusChangd" on type "Subscription".');
  const [shown] = admission({ schemaDetails: true }).admit(typo) as readonly { message: string }[];
  expect(shown?.message).toMatch(/Did you mean "paymentStatusChanged"\?/);
});
