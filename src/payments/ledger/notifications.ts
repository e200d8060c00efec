/**
 * The notifications rows the ledger keeps outside a batch: a rejected body, the first authentic
 * copy applied on its own, and a repeat. Storage stays bounded whatever is posted: one row per
 * distinct body among rejected and duplicate ones, its repeats counted on it (`receivedCount`,
 * `lastReceivedAt`), and a rejected body kept cut short (rows.ts).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/database.js';
import { notifications } from '../../db/schema.js';
import { bodyHash, notificationValues, type ReceivedNotification } from './rows.js';
import type { ApplyOutcome } from './types.js';

/** Counts one more arrival on the row it lands on. */
const oneMore = () => ({ receivedCount: sql`${notifications.receivedCount} + 1`, lastReceivedAt: new Date() });

/**
 * Stores one more copy of a body that is not a first authentic copy (rejected, or a duplicate):
 * a new row for a body never seen, otherwise its row counts it and takes the latest verdict.
 */
async function upsertRepeatable(db: Database, values: ReturnType<typeof notificationValues>): Promise<number | undefined> {
  const [row] = await db
    .insert(notifications)
    .values(values)
    .onConflictDoUpdate({
      target: notifications.bodyHash,
      targetWhere: sql`${notifications.dedupeKey} is null`,
      set: {
        ...oneMore(),
        verified: values.verified,
        keyIndex: values.keyIndex,
        outcome: values.outcome,
        reason: values.reason,
        diagnosis: values.diagnosis,
      },
    })
    .returning({ id: notifications.id });
  return row?.id;
}

/** A body turned away before reaching a payment: kept cut short, once per distinct body. */
export function recordRejected(
  db: Database,
  received: ReceivedNotification,
  rejection: { reason: string; diagnosis?: string | null },
): Promise<number | undefined> {
  return upsertRepeatable(db, notificationValues(received, { outcome: 'rejected', reason: rejection.reason, diagnosis: rejection.diagnosis ?? null }));
}

/**
 * The first authentic copy of a notification, with what applying it did, in the transaction that
 * applied it. Undefined when its dedupe key is taken: another copy was stored first.
 */
export async function storeFirstCopy(
  tx: Transaction,
  received: ReceivedNotification,
  dedupeKey: string,
  applied: { outcome: ApplyOutcome; reason: string; eventId: number | undefined },
): Promise<number | undefined> {
  const [stored] = await tx
    .insert(notifications)
    .values(notificationValues(received, { outcome: applied.outcome, reason: applied.reason, dedupeKey, paymentEventId: applied.eventId ?? null }))
    .onConflictDoNothing({ target: notifications.dedupeKey })
    .returning({ id: notifications.id })
    .prepare('notify_store')
    .execute();
  return stored?.id;
}

/**
 * A redelivery of a notification already stored: the very body of the first copy counts on that
 * row; another body of the same notification (UMS may re-sign a retry) is stored once as a
 * duplicate and counts its own repeats.
 */
export async function recordRepeat(db: Database, received: ReceivedNotification, dedupeKey: string): Promise<number | undefined> {
  const [first] = await db
    .update(notifications)
    .set(oneMore())
    .where(and(eq(notifications.dedupeKey, dedupeKey), eq(notifications.bodyHash, bodyHash(received.rawBody))))
    .returning({ id: notifications.id });
  if (first) return first.id;
  return upsertRepeatable(db, notificationValues(received, { outcome: 'duplicate', reason: 'redelivery' }));
}
