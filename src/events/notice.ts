/**
 * The NOTIFY contract between the ledger and the bus, in one place: the channel, the payload, how
 * it is written (by Postgres, from the inserted event row, inside the writing transaction; or in
 * JS) and how it is read.
 *
 * The payload is a doorbell, not the news: NOTIFY has an 8000-byte cap and no authorization, so it
 * carries ids and the bus reads the committed rows. One shape is sent, so one shape is accepted;
 * anything else on the channel is malformed.
 */
import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';

/** The LISTEN/NOTIFY channel of applied payment changes. */
export const PAYMENT_CHANGE_CHANNEL = 'payment_status';

/** The JSON payload on PAYMENT_CHANGE_CHANNEL: the event appended, and the payment's version after it. */
export interface PaymentChangeNotice {
  merOrderId: string;
  version: number;
  eventId: number;
}

/**
 * `pg_notify(channel, notice)` as a SQL expression over the inserted event's columns, for a
 * RETURNING list or a select. Postgres builds the JSON, so the notice is exactly the committed row.
 */
export function noticeSql(event: { merOrderId: SQLWrapper; version: SQLWrapper; eventId: SQLWrapper }): SQL<string> {
  return sql<string>`pg_notify(${PAYMENT_CHANGE_CHANNEL}::text, json_build_object('merOrderId', ${event.merOrderId}, 'version', ${event.version}, 'eventId', ${event.eventId})::text)::text`;
}

/** The payload as text, as noticeSql writes it (for writers outside SQL, and tests). */
export function encodeNotice(notice: PaymentChangeNotice): string {
  return JSON.stringify({ merOrderId: notice.merOrderId, version: notice.version, eventId: notice.eventId });
}

/** The notice in a payload, or undefined for anything that is not exactly one. */
export function parseNotice(payload: string): PaymentChangeNotice | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { merOrderId, version, eventId } = value as Record<string, unknown>;
  if (typeof merOrderId !== 'string' || merOrderId === '') return undefined;
  if (!isPositiveInteger(version) || !isPositiveInteger(eventId)) return undefined;
  return { merOrderId, version, eventId };
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
