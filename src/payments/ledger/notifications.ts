/**
 * The notifications rows the ledger keeps outside a batch: a rejected body, the first authentic
 * copy applied on its own, and a repeat. Storage stays bounded whatever is posted: one row per
 * distinct body among rejected and duplicate ones, a rejected body kept cut short (rows.ts), and
 * every repeat of a stored body counted in notification_repeats instead of stored again.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/database.js';
import { notificationRepeats, notifications } from '../../db/schema.js';
import { notificationValues, type NotificationValues, type ReceivedNotification } from './rows.js';
import type { ApplyOutcome } from './types.js';

/** Counts one more arrival of the body stored as `notificationId`. */
async function countRepeat(db: Database, notificationId: number): Promise<void> {
  const now = new Date();
  await db
    .insert(notificationRepeats)
    .values({ notificationId, repeats: 1, lastReceivedAt: now })
    .onConflictDoUpdate({
      target: notificationRepeats.notificationId,
      set: { repeats: sql`${notificationRepeats.repeats} + 1`, lastReceivedAt: now },
    });
}

/**
 * Stores a body that is not a first authentic copy (rejected, or a duplicate) unless the same
 * body is stored already, in which case that row counts it. Answers the row's id.
 */
async function storeOnceOrCount(db: Database, values: NotificationValues): Promise<number | undefined> {
  const [inserted] = await db
    .insert(notifications)
    .values(values)
    .onConflictDoNothing({ target: notifications.bodyHash, where: sql`${notifications.dedupeKey} is null` })
    .returning({ id: notifications.id });
  if (inserted) return inserted.id;
  // A new statement: it sees the row even when another connection committed it just now.
  const [stored] = await db
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(eq(notifications.bodyHash, values.bodyHash), isNull(notifications.dedupeKey)));
  if (stored) await countRepeat(db, stored.id);
  return stored?.id;
}

/** A body turned away before reaching a payment: kept cut short, once per distinct body. */
export function recordRejected(
  db: Database,
  received: ReceivedNotification,
  rejection: { reason: string; diagnosis?: string | null },
): Promise<number | undefined> {
  return storeOnceOrCount(db, notificationValues(received, { outcome: 'rejected', reason: rejection.reason, diagnosis: rejection.diagnosis ?? null }));
}

/**
 * The first authentic copy of a notification, with what applying it did, in the transaction that
 * applied it. Undefined when its dedupe key is taken: another copy was stored first.
 */
export async function storeFirstCopy(
  tx: Transaction,
  received: ReceivedNotification,
  dedupeKey: string,
  applied: { outcome: ApplyOutcome; reason: string; eventId: number | undefined; diagnosis?: string | null },
): Promise<number | undefined> {
  const [stored] = await tx
    .insert(notifications)
    .values(notificationValues(received, { outcome: applied.outcome, reason: applied.reason, dedupeKey, paymentEventId: applied.eventId ?? null, diagnosis: applied.diagnosis ?? null }))
    .onConflictDoNothing({ target: notifications.dedupeKey })
    .returning({ id: notifications.id })
    .prepare('notify_store')
    .execute();
  return stored?.id;
}

/**
 * A redelivery of a notification already stored counts on the first copy's row, whatever its
 * bytes: the signature covers decoded, non-empty values only, so padding (`&&&`, empty fields,
 * other percent-encodings, JSON whitespace) makes endless distinct bodies of one notification,
 * and storing each would let anyone holding one genuine body fill the disk. The first copy keeps
 * what was applied. Only when that row cannot be found (it always exists once the dedupe key is
 * taken) is the copy stored, cut short like a rejected body.
 */
export async function recordRepeat(db: Database, received: ReceivedNotification, dedupeKey: string): Promise<number | undefined> {
  const [first] = await db.select({ id: notifications.id }).from(notifications).where(eq(notifications.dedupeKey, dedupeKey));
  if (first) {
    await countRepeat(db, first.id);
    return first.id;
  }
  return storeOnceOrCount(db, notificationValues(received, { outcome: 'duplicate', reason: 'redelivery' }));
}

/** How many times a stored body arrived, and when last (CONTRACT.md Notification.receivedCount, lastReceivedAt). */
export async function receiptsOf(db: Database, notificationId: number): Promise<{ receivedCount: number; lastReceivedAt: Date } | undefined> {
  const [row] = await db
    .select({ receivedAt: notifications.receivedAt, repeats: notificationRepeats.repeats, lastReceivedAt: notificationRepeats.lastReceivedAt })
    .from(notifications)
    .leftJoin(notificationRepeats, eq(notificationRepeats.notificationId, notifications.id))
    .where(eq(notifications.id, notificationId));
  if (!row) return undefined;
  return { receivedCount: 1 + (row.repeats ?? 0), lastReceivedAt: row.lastReceivedAt ?? row.receivedAt };
}
