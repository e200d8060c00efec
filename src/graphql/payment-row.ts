/**
 * The hot read `payment(merOrderId)` as a prepared raw select with a hand-written mapping.
 *
 * Drizzle's own mapping of a row (`mapResultRow`) checks every one of the 35 columns' entity kind
 * (`is(column, Column)`, a prototype walk), calls its decoder and builds the object key by key:
 * about 6 % of the gateway's CPU on the query figure (bench/README.md). Here the row arrives as
 * an array (both drivers' array mode, chosen by passing a result mapper) and one object literal
 * of a fixed shape is built from it. The statement is still a named, prepared one, sent through
 * Drizzle's session so PGlite and postgres.js both work.
 *
 * The decoding is Drizzle's: timestamps arrive as text (both drivers' date parsers are turned
 * off by Drizzle) and become `Date`s; jsonb arrives parsed from postgres.js, as text from
 * nothing we use, and is parsed when it is text. test/graphql/payment-row.test.ts compares the
 * result with Drizzle's for a row with every column set, so a column added to `payments` (which
 * PaymentRow then requires, and tsc demands here) cannot be mapped to the wrong place.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { payments, type PaymentRow } from '../db/schema.js';

/** The columns in select order; `row` below reads them by this position. */
export const PAYMENT_COLUMNS = [
  'merOrderId',
  'merchantId',
  'status',
  'version',
  'channel',
  'totalAmount',
  'mid',
  'tid',
  'instMid',
  'description',
  'targetOrderId',
  'targetSys',
  'seqId',
  'payTime',
  'settleDate',
  'buyerPayAmount',
  'receiptAmount',
  'refundedAmount',
  'needsReview',
  'reviewReason',
  'attachedData',
  'srcReserve',
  'metadata',
  'secureTransaction',
  'secureStatus',
  'completedAmount',
  'divisionFlag',
  'platformAmount',
  'subOrders',
  'expireTime',
  'nextSyncAt',
  'syncAttempts',
  'lastEventAt',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof PaymentRow)[];

const SELECT_PAYMENT = `select ${PAYMENT_COLUMNS.map((key) => `"${payments[key].name}"`).join(', ')} from "payments" where "mer_order_id" = $1`;

const instant = (value: unknown): Date | null => (value === null ? null : typeof value === 'string' ? new Date(value) : (value as Date));
const json = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

/** One array-mode row (PAYMENT_COLUMNS' order) as the PaymentRow Drizzle would give. */
export function paymentOfValues(r: readonly unknown[]): PaymentRow {
  return {
    merOrderId: r[0] as string,
    merchantId: r[1] as string,
    status: r[2] as string,
    version: r[3] as number,
    channel: r[4] as string | null,
    totalAmount: r[5] as number,
    mid: r[6] as string,
    tid: r[7] as string,
    instMid: r[8] as string | null,
    description: r[9] as string | null,
    targetOrderId: r[10] as string | null,
    targetSys: r[11] as string | null,
    seqId: r[12] as string | null,
    payTime: instant(r[13]),
    settleDate: r[14] as string | null,
    buyerPayAmount: r[15] as number | null,
    receiptAmount: r[16] as number | null,
    refundedAmount: r[17] as number,
    needsReview: r[18] as boolean,
    reviewReason: r[19] as string | null,
    attachedData: r[20] as string | null,
    srcReserve: r[21] as string | null,
    metadata: json(r[22]),
    secureTransaction: r[23] as boolean,
    secureStatus: r[24] as string | null,
    completedAmount: r[25] as number | null,
    divisionFlag: r[26] as boolean,
    platformAmount: r[27] as number | null,
    subOrders: json(r[28]),
    expireTime: instant(r[29]),
    nextSyncAt: instant(r[30]),
    syncAttempts: r[31] as number,
    lastEventAt: instant(r[32]),
    createdAt: instant(r[33]) as Date,
    updatedAt: instant(r[34]) as Date,
  };
}

const firstPayment = (rows: unknown[]): PaymentRow | undefined => (rows.length === 0 ? undefined : paymentOfValues(rows[0] as unknown[]));

export interface PaymentByOrder {
  execute(values: { merOrderId: string }): Promise<PaymentRow | undefined>;
}

/**
 * The prepared `select … where mer_order_id = $1` on `db` (the root database, not a transaction),
 * named `name`. Uses Drizzle's session (`db._.session.prepareQuery`, as src/db/named-statement.ts
 * does): the result mapper makes both drivers answer arrays.
 */
export function preparePaymentByOrder(db: Database, name: string): PaymentByOrder {
  const prepared = db._.session.prepareQuery<{ execute: PaymentRow | undefined; all: unknown; values: unknown }>(
    { sql: SELECT_PAYMENT, params: [sql.placeholder('merOrderId')] },
    undefined,
    name,
    true,
    firstPayment,
  );
  return { execute: (values) => prepared.execute(values) as Promise<PaymentRow | undefined> };
}
