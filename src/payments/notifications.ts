/**
 * A notification read by ums/notification.ts, recorded: the ledger's part of POST /notify/ums
 * (CONTRACT.md). This module knows neither the wire format nor HTTP: it receives a verified,
 * typed notification (or the reason one was refused) and returns what was done.
 *
 * In one transaction: store the body, recognise a redelivery by its dedupe key (notifyId, else
 * merOrderId + status + amounts; a unique index settles races between connections), apply it
 * through the ledger, and record what was done. A plain forward move (the common case) shares
 * its transaction with the other notifications of its batch (ledger/notification-batches.ts).
 *
 * Only after the commit is the outcome one that UMS may be told SUCCESS of. A forged or malformed
 * body is stored as a rejected attempt without touching a payment; a storage failure is
 * `unavailable` (UMS retries), and the rolled-back transaction leaves nothing half-written.
 */
import type { Logger } from '../log.js';
import type { Database } from '../db/database.js';
import { errorSummary } from '../lib/errors.js';
import { definedFields } from '../lib/objects.js';
import { maskBuyerIdentifiers, type NotificationReading, type NotificationRejection, type UmsNotification } from '../ums/notification.js';
import {
  applyReportInTransaction,
  MerchantMismatch,
  recordRejected,
  recordRepeat,
  storeFirstCopy,
  syntheticRefundId,
  type ApplyOutcome,
  type NotificationBatcher,
  type ReceivedNotification,
  type StatusReport,
} from './ledger.js';
import { normaliseStatus, statusFromBillStatus, type PaymentStatus } from './status.js';

/**
 * What was done with a notification. Stored outcomes (applied, duplicate, stale, review, created)
 * are durable: UMS may stop sending. `rejected`: stored for audit, the body is unusable.
 * `unavailable`: nothing stored, UMS must send it again.
 */
export type NotificationOutcome = ApplyOutcome | 'rejected' | 'unavailable';

export interface NotificationResult {
  outcome: NotificationOutcome;
  /** Why: the rejection cause, or the ledger's reason. Never carries a key or a signature. */
  reason?: string;
  merOrderId?: string;
  /** The stored notifications row (absent when storing failed). */
  notificationId?: number;
  /** The payment's version after this notification (when one was touched). */
  version?: number;
}

/** A notification as received: what ums/notification.ts read of it, and the body to keep. */
export interface IncomingNotification {
  reading: NotificationReading;
  /** The body as it arrived, kept for audit (the signature covers exactly these bytes). */
  rawBody: string;
  contentType: string;
  /**
   * The merchant whose notify keys the body was checked with (http/notify.ts routes by path, or
   * by mid/tid). A verified body for another merchant's payment is rejected, never applied.
   */
  merchantId?: string;
}

/** The dedupe key was taken after this copy had changed something: roll back, record a copy. */
class RedeliveryRace extends Error {}

/** Stores one notification and applies it through the ledger; never throws. */
export async function recordNotification(
  db: Database,
  received: IncomingNotification,
  log: Logger,
  batcher: NotificationBatcher,
): Promise<NotificationResult> {
  const { reading } = received;
  if (!reading.ok) return reject(db, received, reading, log);
  const notification = reading.notification;
  const report = reportFrom(notification);
  if (typeof report === 'string') {
    return reject(db, received, rejectionOf(notification, `invalid-field:${report}`), log);
  }
  if (received.merchantId !== undefined) report.merchantId = received.merchantId;

  const dedupeKey = dedupeKeyOf(notification, report);
  try {
    const base: ReceivedNotification & { merOrderId: string; status: string } = {
      contentType: received.contentType,
      rawBody: received.rawBody,
      verified: true,
      keyIndex: notification.keyIndex,
      notifyId: notification.notifyId ?? null,
      merchantId: received.merchantId ?? null,
      merOrderId: report.merOrderId,
      status: report.status,
    };
    // The event keeps every signed field but the buyer's identifiers (personal data, masked).
    const payload = maskBuyerIdentifiers(notification.fields);
    // The common case (a plain forward move) is stored with others in one transaction; anything
    // else comes back, after that commit, for the ledger's own path below. A body with a note for
    // the operator takes that path too: only it stores a diagnosis.
    const batched = notification.note
      ? ({ kind: 'handed-back' } as const)
      : await batcher.submit({ report, payload, notification: { ...base, dedupeKey } });
    if (batched.kind === 'unavailable') throw batched.error;
    const result =
      batched.kind === 'stored'
        ? { outcome: 'applied' as const, reason: batched.reason, notificationId: batched.notificationId, version: batched.version }
        : await applyOnItsOwn(db, report, payload, base, dedupeKey, notification.note);
    const line = {
      merOrderId: report.merOrderId,
      status: report.status,
      notifyId: notification.notifyId,
      outcome: result.outcome,
      reason: result.reason,
      notificationId: result.notificationId,
      version: result.version,
      ...(notification.note ? { note: notification.note } : {}),
    };
    if (result.outcome === 'review' || result.outcome === 'created') log.warn(line, 'notification needs review');
    else log.info(line, 'notification stored');
    return { ...definedFields(result), merOrderId: report.merOrderId };
  } catch (err) {
    if (err instanceof MerchantMismatch) return reject(db, received, rejectionOf(notification, 'merchant-mismatch'), log);
    log.error(
      { merOrderId: report.merOrderId, status: report.status, err: errorSummary(err) },
      'notification could not be stored; UMS will send it again',
    );
    return { outcome: 'unavailable', reason: 'storage-failure', merOrderId: report.merOrderId };
  }
}

interface Stored {
  outcome: ApplyOutcome;
  reason: string;
  notificationId: number | undefined;
  version: number | undefined;
}

/**
 * In one transaction: apply the report through the ledger (the row lock orders racing copies),
 * then claim the dedupe key. A copy whose first delivery already committed finds the state moved
 * and is a duplicate either way; one that changed something and then finds the key taken rolls
 * back and is recorded as a copy.
 */
async function applyOnItsOwn(
  db: Database,
  report: StatusReport,
  payload: Readonly<Record<string, string>>,
  base: ReceivedNotification,
  dedupeKey: string,
  /** A note for the operator (e.g. a repeated field name), stored as the row's diagnosis. */
  note: string | undefined,
): Promise<Stored> {
  const recordCopy = async (executor: Database): Promise<Stored> => {
    const copyId = await recordRepeat(executor, base, dedupeKey);
    return { outcome: 'duplicate', reason: 'redelivery', notificationId: copyId, version: undefined };
  };
  try {
    return await db.transaction(async (tx) => {
      const applied = await applyReportInTransaction(tx, report, 'NOTIFY', { payload });
      const storedId = await storeFirstCopy(tx, base, dedupeKey, { outcome: applied.outcome, reason: applied.reason, eventId: applied.event?.id, diagnosis: note ?? null });
      if (storedId !== undefined) return { outcome: applied.outcome, reason: applied.reason, notificationId: storedId, version: applied.payment.version };
      if (applied.outcome === 'duplicate' || applied.outcome === 'stale') return recordCopy(tx);
      throw new RedeliveryRace();
    });
  } catch (err) {
    if (!(err instanceof RedeliveryRace)) throw err;
    return recordCopy(db);
  }
}

/**
 * The ledger's view of a verified notification, or the name of the field it cannot use. The
 * status is mapped here (PROTOCOL.md §6.1 with its aliases; a bills notification's billStatus
 * when it has no status); ums/ has checked the amounts and times.
 */
function reportFrom(n: UmsNotification): StatusReport | string {
  const status = statusOf(n);
  if (!status) return 'status';
  const report: StatusReport = definedFields({
    merOrderId: n.merOrderId,
    status,
    totalAmount: n.totalAmount,
    mid: n.mid,
    tid: n.tid,
    instMid: n.instMid,
    targetOrderId: n.targetOrderId,
    targetSys: n.targetSys,
    seqId: n.seqId,
    payTime: n.payTime,
    settleDate: n.settleDate,
    buyerPayAmount: n.buyerPayAmount,
    receiptAmount: n.receiptAmount,
    attachedData: n.attachedData,
    srcReserve: n.srcReserve,
    secureStatus: n.secureStatus,
  });
  const { refundOrderId, refundAmount, refundTargetOrderId } = n.refund ?? {};
  // The refund's own status where UMS sent it; absent, the ledger reads the notice as a success.
  const refundStatus = n.refund?.refundStatus;
  if (refundOrderId !== undefined) {
    if (refundAmount === undefined) return 'refundAmount';
    report.refund = definedFields({ refundOrderId, refundAmount, status: refundStatus, refundTargetOrderId });
  } else if (report.status === 'TRADE_REFUND' && refundAmount !== undefined && refundAmount > 0 && (refundStatus ?? 'SUCCESS') === 'SUCCESS') {
    // A refund without our refundOrderId (made in the UMS merchant portal, say): count it once under
    // an id UMS gave it; with none at all the ledger flags the payment instead of guessing. A
    // refund that UMS says failed or is still processing moved no money: nothing to count or flag.
    const syntheticId = syntheticRefundId(definedFields({ refundTargetOrderId, notifyId: n.notifyId }));
    if (syntheticId === undefined) report.unidentifiedRefundAmount = refundAmount;
    else report.refund = definedFields({ refundOrderId: syntheticId, refundAmount, status: refundStatus, refundTargetOrderId });
  }
  return report;
}

function statusOf(n: UmsNotification): PaymentStatus | undefined {
  if (n.status !== undefined) return normaliseStatus(n.status);
  if (n.billStatus !== undefined) return statusFromBillStatus(n.billStatus) ?? normaliseStatus(n.billStatus);
  return undefined;
}

/** A verified notification the ledger cannot use, as the rejection it becomes (stored for audit). */
function rejectionOf(n: UmsNotification, reason: NotificationRejection['reason']): NotificationRejection {
  return {
    ok: false,
    reason,
    verified: true,
    keyIndex: n.keyIndex,
    // The order as read (a bills notification names it billNo), so the audit row finds it.
    ...(n.merOrderId ? { merOrderId: n.merOrderId } : {}),
    ...(n.notifyId ? { notifyId: n.notifyId } : {}),
    ...(n.fields.status ? { status: n.fields.status } : {}),
    ...(n.note ? { diagnosis: n.note } : {}),
  };
}

/**
 * notifyId identifies one notification and its redeliveries; status and refund ride along because
 * notifyId's granularity is undocumented (§4.3), so two different facts never share a key.
 * Without notifyId: merOrderId + status + amounts.
 */
export function dedupeKeyOf(ids: { readonly notifyId?: string | undefined }, report: StatusReport): string {
  const refund = report.refund
    ? `|${report.refund.refundOrderId}|${report.refund.refundAmount}${report.refund.status && report.refund.status !== 'SUCCESS' ? `|${report.refund.status}` : ''}`
    : report.unidentifiedRefundAmount !== undefined
      ? `||${report.unidentifiedRefundAmount}`
      : '';
  if (ids.notifyId) return `n|${ids.notifyId}|${report.merOrderId}|${report.status}${refund}`;
  return `o|${report.merOrderId}|${report.status}|${report.totalAmount ?? ''}${refund}`;
}

async function reject(
  db: Database,
  received: IncomingNotification,
  rejection: NotificationRejection,
  log: Logger,
): Promise<NotificationResult> {
  const merOrderId = rejection.merOrderId;
  let notificationId: number | undefined;
  try {
    notificationId = await recordRejected(
      db,
      {
        contentType: received.contentType,
        rawBody: received.rawBody,
        verified: rejection.verified,
        keyIndex: rejection.keyIndex ?? null,
        notifyId: rejection.notifyId?.slice(0, 64) ?? null,
        merchantId: received.merchantId ?? null,
        merOrderId: merOrderId?.slice(0, 64) ?? null,
        status: rejection.status?.slice(0, 32) ?? null,
      },
      { reason: rejection.reason, diagnosis: rejection.diagnosis ?? null },
    );
  } catch (err) {
    // Still rejected: the body is wrong whether or not we could keep a copy of it.
    log.error({ err: errorSummary(err), reason: rejection.reason }, 'rejected notification could not be stored for audit');
  }
  // `diagnosis`, not `signature`: the logger censors any field named signature.
  log.warn({ merOrderId, reason: rejection.reason, diagnosis: rejection.diagnosis, notificationId }, 'notification rejected');
  return definedFields({ outcome: 'rejected' as const, reason: rejection.reason, merOrderId, notificationId });
}
