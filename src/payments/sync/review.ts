/**
 * Flags a payment for an operator when the sync machinery cannot settle something on its own
 * (a refund whose fate UMS will not tell). `needs_review` / `review_reason` are operator flags,
 * not payment state: no status change, no version, no event. The ledger flags the cases it
 * decides itself with its own (unexported) flagForReview; this is the same write for the cases
 * decided here. An earlier reason is kept: the first anomaly is usually the one to look at.
 */
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/database.js';
import { payments } from '../../db/schema.js';

/** A refund UMS refused to (re)send although it may have been made: `refund-in-doubt:<refundOrderId>`. */
export const REFUND_IN_DOUBT = 'refund-in-doubt';
/** A refund still pending when the gaps ran out: `refund-unsettled:<refundOrderId>`. */
export const REFUND_UNSETTLED = 'refund-unsettled';

export async function flagForReview(db: Database, merOrderId: string, reason: string): Promise<void> {
  await db
    .update(payments)
    .set({
      needsReview: true,
      reviewReason: sql`case when ${payments.needsReview} and ${payments.reviewReason} is not null then ${payments.reviewReason} else ${reason} end`,
      updatedAt: new Date(),
    })
    .where(eq(payments.merOrderId, merOrderId));
}
