/**
 * The notification log's reads (read side, like data.ts): newest first, keyset-paginated on the
 * row id, with the repeat counts beside each row. The body is parsed again here (it is stored as
 * received) and shown with buyer identifiers masked and every value cut short, so an answer stays
 * small whatever was posted.
 */
import { and, desc, eq, inArray, lt, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { notificationRepeats, notifications } from '../db/schema.js';
import { maskBuyerIdentifiers, parseNotificationBody } from '../ums/notification.js';

/** GraphQL outcome → stored outcomes. `created` (an order we never created, stored and flagged) is FLAGGED. */
export const NOTIFICATION_OUTCOMES: Readonly<Record<string, readonly string[]>> = {
  APPLIED: ['applied'],
  DUPLICATE: ['duplicate'],
  STALE: ['stale'],
  FLAGGED: ['review', 'created'],
  REJECTED: ['rejected'],
};

const STORED_TO_SHOWN: Readonly<Record<string, string>> = {
  applied: 'APPLIED',
  duplicate: 'DUPLICATE',
  stale: 'STALE',
  review: 'FLAGGED',
  created: 'FLAGGED',
  rejected: 'REJECTED',
};

/** Fields shown per notification, and characters per value: a body of 200 long fields stays small. */
const MAX_SHOWN_FIELDS = 80;
const MAX_SHOWN_VALUE = 256;

export interface NotificationView {
  id: string;
  receivedAt: Date;
  lastReceivedAt: Date;
  receivedCount: number;
  outcome: string;
  reason: string | null;
  diagnosis: string | null;
  merOrderId: string | null;
  merchantId: string | null;
  verified: boolean;
  fields: Record<string, string> | null;
}

export interface NotificationPageRequest {
  first: number;
  after?: string | undefined;
  /** A key of NOTIFICATION_OUTCOMES. */
  outcome?: string | undefined;
  merOrderId?: string | undefined;
  /** Only this merchant's (a merchant admin); undefined: all. */
  merchantId?: string | undefined;
}

export class InvalidNotificationCursor extends Error {}

export function encodeNotificationCursor(id: number): string {
  return Buffer.from(`n:${id}`, 'utf8').toString('base64url');
}

export function decodeNotificationCursor(text: string): number {
  const m = /^n:(\d{1,15})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!m) throw new InvalidNotificationCursor('`after` is not a cursor this API handed out');
  return Number(m[1]);
}

export async function listNotifications(db: Database, request: NotificationPageRequest): Promise<{ rows: { cursor: string; node: NotificationView }[]; hasNextPage: boolean }> {
  const conditions: SQL[] = [];
  if (request.after !== undefined) conditions.push(lt(notifications.id, decodeNotificationCursor(request.after)));
  if (request.outcome !== undefined) conditions.push(inArray(notifications.outcome, [...(NOTIFICATION_OUTCOMES[request.outcome] ?? [])]));
  if (request.merOrderId !== undefined) conditions.push(eq(notifications.merOrderId, request.merOrderId));
  if (request.merchantId !== undefined) conditions.push(eq(notifications.merchantId, request.merchantId));
  const rows = await db
    .select({ n: notifications, repeats: notificationRepeats.repeats, lastReceivedAt: notificationRepeats.lastReceivedAt })
    .from(notifications)
    .leftJoin(notificationRepeats, eq(notificationRepeats.notificationId, notifications.id))
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(notifications.id))
    .limit(request.first + 1);
  return {
    hasNextPage: rows.length > request.first,
    rows: rows.slice(0, request.first).map(({ n, repeats, lastReceivedAt }) => ({
      cursor: encodeNotificationCursor(n.id),
      node: {
        id: String(n.id),
        receivedAt: n.receivedAt,
        lastReceivedAt: lastReceivedAt ?? n.receivedAt,
        receivedCount: 1 + (repeats ?? 0),
        outcome: STORED_TO_SHOWN[n.outcome] ?? n.outcome.toUpperCase(),
        reason: n.reason,
        diagnosis: n.diagnosis,
        merOrderId: n.merOrderId,
        merchantId: n.merchantId,
        verified: n.verified,
        fields: shownFields(n.contentType, n.rawBody),
      },
    })),
  };
}

/** The body's fields, masked and bounded; null when nothing can be read from it. */
export function shownFields(contentType: string | null, rawBody: string): Record<string, string> | null {
  const parsed = parseNotificationBody({ contentType: contentType ?? '', body: rawBody });
  const fields = parsed.fields;
  if (!fields) return null;
  const masked = maskBuyerIdentifiers(fields);
  const shown: Record<string, string> = {};
  let count = 0;
  for (const [name, value] of Object.entries(masked)) {
    // A signature is no business of an operator's screen (and not needed to tell what was sent).
    if (name === 'sign') continue;
    if (++count > MAX_SHOWN_FIELDS) break;
    shown[name] = value.length > MAX_SHOWN_VALUE ? `${value.slice(0, MAX_SHOWN_VALUE)}…` : value;
  }
  return shown;
}
