/**
 * The rows the ledger writes, described once for its two write paths: the single report (Drizzle,
 * apply.ts) and the batch of forward moves (one raw-SQL statement, forward-moves.ts).
 *
 * Each row is a list of column names plus one function that fills it. Drizzle inserts the filled
 * object; the batch statement is generated, once at start-up, from the same lists and the
 * columns' SQL types in schema.ts, so a column added to a list is written by both paths (and its
 * statement text stays one constant, which keeps it a named, prepared statement).
 */
import { createHash } from 'node:crypto';
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { notifications, paymentEvents, payments, type PaymentRow } from '../../db/schema.js';
import type { EventSource } from '../status.js';

/** Fields a report brings that we only record (StatusReport's names are the payments columns'). */
export const REPORTED_FIELDS = [
  'instMid',
  'targetOrderId',
  'targetSys',
  'seqId',
  'payTime',
  'settleDate',
  'buyerPayAmount',
  'receiptAmount',
  // Echoed by UMS from the create request (notifications, query answers).
  'attachedData',
  'srcReserve',
  'secureStatus',
] as const satisfies readonly (keyof PaymentRow)[];

/** Identity fields: checked against what we stored, filled when we never knew them. */
export const IDENTITY_FIELDS = ['mid', 'tid', 'totalAmount'] as const satisfies readonly (keyof PaymentRow)[];

/**
 * The payments columns an applied move sets from the row as planned; `version` grows by one in
 * SQL on both paths (the batch checks it against the plan).
 */
export const MOVED_PAYMENT_FIELDS = [
  ...IDENTITY_FIELDS,
  ...REPORTED_FIELDS,
  'status',
  'nextSyncAt',
  'lastEventAt',
  'updatedAt',
] as const satisfies readonly (keyof PaymentRow)[];

/** tx_id is Postgres's to set (the writing transaction's id), on both paths alike. */
export type EventValues = Required<Omit<typeof paymentEvents.$inferInsert, 'id' | 'txId'>>;

/** The payment_events columns both paths write (all but the identity). */
export const EVENT_FIELDS = [
  'merOrderId',
  'source',
  'previousStatus',
  'status',
  'version',
  'reason',
  'notificationId',
  'payload',
  'actor',
  'at',
  // The payment as committed with the change (webhook bodies are built from these, never re-read).
  'merchantId',
  'kind',
  'totalAmount',
  'refundedAmount',
  'payTime',
  'refundOrderId',
  'refundAmount',
  'refundStatus',
] as const satisfies readonly (keyof EventValues)[];

/** What an event is about (payment_events.kind): it decides the webhook's type. */
export type EventKind = 'payment' | 'refund' | 'review';

/** The refund a `refund` event is about, as committed with it. */
export interface EventRefund {
  refundOrderId: string;
  refundAmount: number;
  status: string;
}

/** The actor of what no caller did: notifications, sync, schedules (CONTRACT.md "Event feed"). */
export const SYSTEM_ACTOR = 'system';

/** The event that records `payment` as it now stands. */
export function eventValues(
  payment: PaymentRow,
  previousStatus: string | null,
  source: EventSource,
  reason: string,
  notificationId: number | null,
  payload: unknown,
  actor: string = SYSTEM_ACTOR,
  about: { kind?: EventKind; refund?: EventRefund } = {},
): EventValues {
  const refund = about.refund;
  return {
    merOrderId: payment.merOrderId,
    source,
    previousStatus,
    status: payment.status,
    version: payment.version,
    reason,
    notificationId,
    payload: payload ?? null,
    actor,
    at: payment.updatedAt,
    merchantId: payment.merchantId,
    kind: about.kind ?? (refund ? 'refund' : 'payment'),
    totalAmount: payment.totalAmount,
    refundedAmount: payment.refundedAmount,
    payTime: payment.payTime,
    refundOrderId: refund?.refundOrderId ?? null,
    refundAmount: refund?.refundAmount ?? null,
    refundStatus: refund?.status ?? null,
  };
}

/** A notification as it reached us (the ledger decides what of it is kept). */
export interface ReceivedNotification {
  contentType: string;
  rawBody: string;
  verified: boolean;
  keyIndex: number | null;
  notifyId: string | null;
  /** The merchant whose keys verified it; null when none did (or before merchants are routed). */
  merchantId: string | null;
  merOrderId: string | null;
  status: string | null;
}

export type NotificationValues = Required<
  Omit<typeof notifications.$inferInsert, 'id' | 'receivedAt' | 'strippedAt'>
>;

/** The notifications columns both paths write (the batch takes paymentEventId from its event). */
export const NOTIFICATION_FIELDS = [
  'contentType',
  'rawBody',
  'bodyHash',
  'verified',
  'keyIndex',
  'notifyId',
  'merchantId',
  'merOrderId',
  'status',
  'dedupeKey',
  'outcome',
  'reason',
  'diagnosis',
] as const satisfies readonly (keyof NotificationValues)[];

/**
 * What is kept of a body nobody vouches for: its first bytes, enough to see what was sent (the
 * order, status and notifyId have columns of their own). The hash is of the whole body, so a
 * repeat is still recognised. With these caps a row of a rejected body, indexes included, stays
 * under 1 KB: 10,000 distinct forged bodies fit in 10 MB (test/payments/ledger/notification-storage.test.ts).
 */
export const KEPT_REJECTED_BODY_BYTES = 128;
/** What is kept of a signature diagnosis. */
export const KEPT_DIAGNOSIS_BYTES = 96;
/** What is kept of a Content-Type header (a caller chooses its length). */
export const KEPT_CONTENT_TYPE_BYTES = 64;

/** The notifications row of `received`; a rejected body is cut to KEPT_REJECTED_BODY_BYTES. */
export function notificationValues(
  received: ReceivedNotification,
  verdict: { outcome: string; reason: string | null; dedupeKey?: string | null; diagnosis?: string | null; paymentEventId?: number | null },
): NotificationValues {
  // Bodies nobody needs whole: a rejected one, and a copy stored beside its first copy.
  const cut = verdict.outcome === 'rejected' || (verdict.outcome === 'duplicate' && !verdict.dedupeKey);
  return {
    contentType: truncateUtf8(received.contentType, KEPT_CONTENT_TYPE_BYTES),
    rawBody: cut ? truncateUtf8(received.rawBody, KEPT_REJECTED_BODY_BYTES) : received.rawBody,
    bodyHash: bodyHash(received.rawBody),
    verified: received.verified,
    keyIndex: received.keyIndex,
    notifyId: received.notifyId,
    merchantId: received.merchantId,
    merOrderId: received.merOrderId,
    status: received.status,
    dedupeKey: verdict.dedupeKey ?? null,
    outcome: verdict.outcome,
    reason: verdict.reason,
    diagnosis: verdict.diagnosis === undefined || verdict.diagnosis === null ? null : truncateUtf8(verdict.diagnosis, KEPT_DIAGNOSIS_BYTES),
    paymentEventId: verdict.paymentEventId ?? null,
  };
}

/** SHA-256 of the body as received, base64url (43 characters): one row per distinct body among repeats. */
export function bodyHash(rawBody: string): string {
  return createHash('sha256').update(rawBody, 'utf8').digest('base64url');
}

/** At most `maxBytes` of UTF-8, never cutting a character in two. */
export function truncateUtf8(text: string, maxBytes: number): string {
  // Counting is cheaper than encoding, and most texts (every content type) fit.
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  let end = maxBytes;
  // The first byte left out is a continuation byte (10xxxxxx): its character starts earlier; leave it out whole.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * One row kind of the batch statement: the fields travel in one JSON array per move, by position
 * (no field names: they were a third of the statement's parameter, 2.3 KB a move, written to the
 * socket and parsed by Postgres for every move), and the statement names them back (`p_mid`,
 * `e_reason`, …) so that the kinds share one record per move.
 */
export interface RecordKind<Field extends string> {
  /** How many positions the kind takes in a move's array. */
  width: number;
  /**
   * `(r->>7)::text as p_mid, …` for the kind's fields at positions `offset`… of the array `r`.
   * JSON null is SQL NULL, as it was for jsonb_to_recordset: `->>` gives NULL for it, and a jsonb
   * column takes the element itself, null turned into NULL.
   */
  projection(row: string, offset: number): SQL;
  /** The table's column names, in field order: `mid, tid, …`. */
  columns: SQL;
  /** The record's values, in field order: `m.p_mid, m.p_tid, …`. */
  values: SQL;
  /** `column = m.p_field, …` for an UPDATE's SET. */
  assignments: SQL;
  /** Appends one row's fields to `record`, in field order (one JSON array per move). */
  copyInto(row: { [K in Field]: unknown }, record: unknown[]): void;
}

export function recordKind<Field extends string>(table: PgTable, prefix: string, fields: readonly Field[]): RecordKind<Field> {
  const columns = getTableColumns(table);
  const described = fields.map((field) => {
    const column = columns[field];
    if (!column) throw new Error(`no column ${field} in ${prefix} table`);
    return { field, name: column.name, key: `${prefix}_${column.name}`, type: column.getSQLType() };
  });
  const join = (parts: string[]) => sql.raw(parts.join(', '));
  return {
    width: described.length,
    projection: (row, offset) =>
      join(
        described.map((d, i) =>
          d.type === 'jsonb' || d.type === 'json'
            ? `nullif(${row}->${offset + i}, 'null'::jsonb)::${d.type} as ${d.key}`
            : `(${row}->>${offset + i})::${d.type} as ${d.key}`,
        ),
      ),
    columns: join(described.map((d) => d.name)),
    values: join(described.map((d) => `m.${d.key}`)),
    assignments: join(described.map((d) => `${d.name} = m.${d.key}`)),
    copyInto: (row, record) => {
      for (const d of described) record.push(row[d.field]);
    },
  };
}

export const paymentRecord = recordKind(payments, 'p', MOVED_PAYMENT_FIELDS);
export const eventRecord = recordKind(paymentEvents, 'e', EVENT_FIELDS);
export const notificationRecord = recordKind(notifications, 'n', NOTIFICATION_FIELDS);
