/**
 * Refunds in the ledger: the rows we keep per refund, how a reported refund finds its row (ours,
 * or the synthetic `ums:…` one of a notice that lacked our id), and whether it may be counted.
 * Called inside applyReportInTransaction's transaction, with the payment locked.
 */
import { and, eq, ne } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/database.js';
import { refunds, type RefundRow } from '../../db/schema.js';
import { PaymentError } from '../errors.js';
import { PENDING_REFUND_STATUSES, type RefundStatus, type StatusReport } from './types.js';

/** Prefix of refund ids we make up for a refund UMS reported without our refundOrderId. */
export const SYNTHETIC_REFUND_PREFIX = 'ums:';

/**
 * The id under which a refund reported without our refundOrderId (say, made in the UMS merchant
 * portal) is stored and counted once: UMS's refundTargetOrderId when present (`ums:<id>`), else
 * the notification's notifyId (`ums:notify:<id>`); undefined when neither exists.
 */
export function syntheticRefundId(ids: { refundTargetOrderId?: string; notifyId?: string }): string | undefined {
  if (ids.refundTargetOrderId) return `${SYNTHETIC_REFUND_PREFIX}${ids.refundTargetOrderId}`;
  if (ids.notifyId) return `${SYNTHETIC_REFUND_PREFIX}notify:${ids.notifyId}`;
  return undefined;
}

export function isSyntheticRefundId(refundOrderId: string): boolean {
  return refundOrderId.startsWith(SYNTHETIC_REFUND_PREFIX);
}

/** Records a refund request (PROCESSING) before UMS is asked, so a crash leaves a trace. */
export async function insertRefundRequest(
  db: Database,
  refund: {
    refundOrderId: string;
    merOrderId: string;
    refundAmount: number;
    description?: string;
    nextSyncAt?: Date;
    platformAmount?: number;
    subOrders?: readonly { mid: string; totalAmount: number }[];
  },
): Promise<RefundRow> {
  const [row] = await db
    .insert(refunds)
    .values({
      refundOrderId: refund.refundOrderId,
      merOrderId: refund.merOrderId,
      refundAmount: refund.refundAmount,
      status: 'PROCESSING',
      description: refund.description ?? null,
      nextSyncAt: refund.nextSyncAt ?? null,
      platformAmount: refund.platformAmount ?? null,
      subOrders: refund.subOrders ?? null,
    })
    .onConflictDoNothing({ target: refunds.refundOrderId })
    .returning();
  if (!row) {
    throw new PaymentError('CONFLICT', `a refund with refundOrderId ${refund.refundOrderId} already exists`, {
      merOrderId: refund.merOrderId,
      refundOrderId: refund.refundOrderId,
    });
  }
  return row;
}

/** Sets when the sync scheduler should next ask UMS about a refund; status and amounts untouched. */
export async function scheduleRefundSync(db: Database, refundOrderId: string, nextSyncAt: Date | null): Promise<void> {
  await db.update(refunds).set({ nextSyncAt }).where(eq(refunds.refundOrderId, refundOrderId));
}

export type ReportedRefund = NonNullable<StatusReport['refund']>;


export async function lockRefund(tx: Transaction, refundOrderId: string): Promise<RefundRow | undefined> {
  const [row] = await tx.select().from(refunds).where(eq(refunds.refundOrderId, refundOrderId)).for('update');
  return row;
}

/**
 * The refund row a report is about. One refund may reach us under two ids: ours (refundOrderId)
 * and a synthetic one (`ums:…`) from a notice that did not carry ours; UMS's refundTargetOrderId
 * ties them. A synthetic report about a refund we know under our id is about that row;
 * `countedAsTwin` says that our row's money was already counted under the synthetic id.
 */
export async function findRefund(
  tx: Transaction,
  merOrderId: string,
  refund: ReportedRefund,
): Promise<{ refund: ReportedRefund; existing: RefundRow | undefined; countedAsTwin: boolean }> {
  const existing = await lockRefund(tx, refund.refundOrderId);
  const target = refund.refundTargetOrderId ?? existing?.refundTargetOrderId ?? undefined;
  if (target === undefined || existing?.countedAt) return { refund, existing, countedAsTwin: false };
  const twins = await tx
    .select()
    .from(refunds)
    .where(and(eq(refunds.merOrderId, merOrderId), eq(refunds.refundTargetOrderId, target), ne(refunds.refundOrderId, refund.refundOrderId)))
    .for('update');
  const synthetic = isSyntheticRefundId(refund.refundOrderId);
  const ours = twins.find((t) => !isSyntheticRefundId(t.refundOrderId));
  if (synthetic && ours && !existing) return { refund: { ...refund, refundOrderId: ours.refundOrderId }, existing: ours, countedAsTwin: false };
  const countedAsTwin = !synthetic && twins.some((t) => isSyntheticRefundId(t.refundOrderId) && t.countedAt !== null);
  return { refund, existing, countedAsTwin };
}

/**
 * A refund about to be counted that nothing ties to the refunds already stored for the order, so
 * it may be one of them under a second id (counted, but a person must look):
 * - a synthetic one identified only by its notifyId (`ums:notify:…`), which never ties to anything;
 * - a synthetic one while the order has refunds of ours with no refundTargetOrderId (not FAIL);
 * - one of ours without refundTargetOrderId while the order has counted synthetic ones.
 */
export async function mayBeCountedTwice(tx: Transaction, merOrderId: string, refund: ReportedRefund, existing: RefundRow | undefined): Promise<boolean> {
  const synthetic = isSyntheticRefundId(refund.refundOrderId);
  if (synthetic && refund.refundOrderId.startsWith(`${SYNTHETIC_REFUND_PREFIX}notify:`)) return true;
  if (!synthetic && (refund.refundTargetOrderId ?? existing?.refundTargetOrderId)) return false;
  const others = await tx
    .select({ refundOrderId: refunds.refundOrderId, status: refunds.status, countedAt: refunds.countedAt, target: refunds.refundTargetOrderId })
    .from(refunds)
    .where(and(eq(refunds.merOrderId, merOrderId), ne(refunds.refundOrderId, refund.refundOrderId)));
  if (synthetic) return others.some((o) => !isSyntheticRefundId(o.refundOrderId) && o.target === null && o.status !== 'FAIL');
  return others.some((o) => isSyntheticRefundId(o.refundOrderId) && o.countedAt !== null);
}

/**
 * Stores what a report says about a refund. `countNow`: this very write adds the refund to the
 * payment's refundedAmount, so the row becomes SUCCESS and is marked counted here; a SUCCESS row
 * is therefore always a counted one.
 */
export async function upsertRefund(
  tx: Transaction,
  merOrderId: string,
  refund: NonNullable<StatusReport['refund']>,
  existing: RefundRow | undefined,
  countNow: boolean,
): Promise<StoredRefund> {
  const incoming: RefundStatus = refund.status ?? 'SUCCESS';
  const now = new Date();
  const counted = countNow ? { status: 'SUCCESS' as const, countedAt: now } : undefined;
  if (!existing) {
    const status = counted?.status ?? incoming;
    await tx.insert(refunds).values({
      refundOrderId: refund.refundOrderId,
      merOrderId,
      refundAmount: refund.refundAmount,
      status,
      countedAt: counted?.countedAt ?? null,
      refundTargetOrderId: refund.refundTargetOrderId ?? null,
      nextSyncAt: PENDING_REFUND_STATUSES.includes(status) ? now : null,
      createdAt: now,
      updatedAt: now,
    });
    return { refundOrderId: refund.refundOrderId, refundAmount: refund.refundAmount, status, changed: true };
  }
  // SUCCESS and FAIL are final (§6.1): a late PROCESSING must not undo them. Only a counted
  // SUCCESS may replace a FAIL (handled by `counted`).
  const final = existing.status === 'SUCCESS' || existing.status === 'FAIL';
  const status = counted?.status ?? (final ? existing.status : incoming);
  const settled = status === 'SUCCESS' || status === 'FAIL';
  await tx
    .update(refunds)
    .set({
      status,
      ...(counted ? { countedAt: counted.countedAt } : {}),
      refundTargetOrderId: refund.refundTargetOrderId ?? existing.refundTargetOrderId,
      nextSyncAt: settled ? null : existing.nextSyncAt,
      updatedAt: now,
    })
    .where(eq(refunds.refundOrderId, existing.refundOrderId));
  return { refundOrderId: existing.refundOrderId, refundAmount: existing.refundAmount, status, changed: status !== existing.status };
}

/** A refund row as upsertRefund left it; `changed`: new, or its status moved. */
export interface StoredRefund {
  refundOrderId: string;
  refundAmount: number;
  status: string;
  changed: boolean;
}

