/**
 * ws-admission.ts keeps parsed and validated subscription documents by query text, so that equal
 * subscriptions hold one document (and share executions), but never a long text: a 1 MiB
 * document of comments is valid, and 500 of them must not stay in memory.
 */
import { beforeAll, expect, it } from 'vitest';
import { specifiedRules, type GraphQLSchema } from 'graphql';
import { buildGatewaySchema } from '../../src/graphql/schema.js';
import { admitOperation, type AdmittedOperation } from '../../src/graphql/ws-admission.js';

let schema: GraphQLSchema;
const rules = [...specifiedRules];
beforeAll(async () => {
  schema = await buildGatewaySchema({ simulatorMode: false });
});

const admit = (query: string) => admitOperation({ query }, { schema, rules, schemaDetails: false }) as AdmittedOperation;
const SUBSCRIPTION = 'subscription { paymentStatusChanged(mid: "898201612345678") { status } }';

it('hands out one document for one text', () => {
  const first = admit(SUBSCRIPTION);
  expect(first.document).toBeDefined();
  expect(admit(SUBSCRIPTION).document).toBe(first.document);
});

it('does not keep a long text', () => {
  const long = `${SUBSCRIPTION}\n# ${'x'.repeat(20_000)}`;
  const first = admit(long);
  expect(first.document).toBeDefined();
  expect(admit(long).document).not.toBe(first.document);
});

it('still refuses an invalid document every time', () => {
  for (let i = 0; i < 2; i++) {
    expect(admitOperation({ query: 'subscription { nope }' }, { schema, rules, schemaDetails: false })).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) }),
    ]);
  }
});
