/**
 * A guaranteed payment's state (担保: secureStatus, completedAmount), written as UMS answered
 * secure-complete / secure-cancel. Not a status move: the payment's status stays (cancel closes it
 * through applyReport), but it is a change like any other: the version grows, an event records it
 * (its status equal to its previousStatus), and subscribers hear of it.
 */
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/database.js';
import { payments, type PaymentRow } from '../../db/schema.js';
import { PaymentError } from '../errors.js';
import type { EventSource } from '../status.js';
import { appendEvent, lockPayment } from './apply.js';

export interface SecureState {
  secureStatus: string;
  completedAmount?: number;
}

/** Records the state; answers the payment as it now stands and whether anything changed. */
export async function recordSecureState(
  db: Database,
  merOrderId: string,
  state: SecureState,
  source: EventSource,
  payload: unknown,
): Promise<{ payment: PaymentRow; changed: boolean }> {
  return db.transaction(async (tx) => {
    const current = await lockPayment(tx, merOrderId);
    if (!current) throw new PaymentError('NOT_FOUND', `no payment ${merOrderId}`, { merOrderId });
    const completedAmount = state.completedAmount ?? current.completedAmount;
    if (current.secureStatus === state.secureStatus && current.completedAmount === completedAmount) return { payment: current, changed: false };
    const now = new Date();
    const [payment] = await tx
      .update(payments)
      .set({ secureStatus: state.secureStatus, completedAmount, version: sql`${payments.version} + 1`, updatedAt: now, lastEventAt: now })
      .where(eq(payments.merOrderId, merOrderId))
      .returning();
    if (!payment) throw new Error(`payment ${merOrderId} vanished while locked`);
    await appendEvent(tx, payment, current.status, source, `secure:${state.secureStatus}`, { payload });
    return { payment, changed: true };
  });
}
