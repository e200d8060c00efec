/**
 * A UMS notification, from raw body to stored fact (PROTOCOL.md §4, CONTRACT.md POST /notify/ums).
 *
 * 1. Parse the raw body once: form (as UMS sends it) or JSON (scalars flattened to strings).
 * 2. Verify its `sign` with the current and the previous communication key (src/ums/sign.ts).
 * 3. Validate the fields we act on; never trust what the signature does not cover.
 * 4. In one transaction: store the body, recognise a redelivery by its dedupe key (notifyId, else
 *    merOrderId + status + amounts; a unique index settles races between connections), apply it
 *    through the ledger, and record what was done. A plain forward move (the common case) shares
 *    its transaction with the other notifications of its batch (ledger/notification-batches.ts).
 *
 * Only after the commit is `SUCCESS` answered. A forged or malformed body is stored as a rejected
 * attempt (400) without touching a payment; a storage failure answers 503 so UMS retries, and the
 * rolled-back transaction leaves nothing half-written.
 */
import { DrizzleQueryError } from 'drizzle-orm/errors';
import type { Logger } from '../log.js';
import type { Database } from '../db/database.js';
import { verifyNotifySign } from '../ums/sign.js';
import { diagnoseSignature, diagnosisLine } from './signature-doctor.js';
import { parseBeijing } from '../ums/time.js';
import {
  applyReportInTransaction,
  recordRejected,
  recordRepeat,
  storeFirstCopy,
  syntheticRefundId,
  type ApplyOutcome,
  type NotificationBatcher,
  type ReceivedNotification,
  type StatusReport,
} from './ledger.js';
import { MAX_AMOUNT_FEN } from './amounts.js';
import { normaliseRefundStatus, normaliseStatus, statusFromBillStatus } from './status.js';

export type NotificationOutcome = ApplyOutcome | 'rejected' | 'failed';

export interface NotificationResult {
  outcome: NotificationOutcome;
  /** What the endpoint answers: 200 SUCCESS, 400 FAILED (rejected), 413 FAILED (too large, refused by the route), 503 FAILED (not stored). */
  httpStatus: 200 | 400 | 413 | 503;
  body: 'SUCCESS' | 'FAILED';
  /** Why: the rejection cause, or the ledger's reason. Never carries a key or a signature. */
  reason?: string;
  merOrderId?: string;
  /** The stored notifications row (absent when storing failed). */
  notificationId?: number;
  /** The payment's version after this notification (when one was touched). */
  version?: number;
}

export interface RawNotification {
  body: string;
  contentType: string;
}

/** Why a body was turned away before reaching a payment. */
export type RejectionReason =
  | 'unsupported-content-type'
  | 'unparsable-body'
  | 'missing-sign'
  | 'unknown-sign-type'
  | 'bad-signature'
  | `invalid-field:${string}`;

/** The dedupe key was taken after this copy had changed something: roll back, record a copy. */
class RedeliveryRace extends Error {}

class Rejection extends Error {
  constructor(
    readonly reason: RejectionReason,
    readonly fields?: Readonly<Record<string, string>>,
    readonly verified = false,
    readonly keyIndex?: number,
    /** Why the signature failed, in an operator's terms (signature doctor); never a key. */
    readonly diagnosis?: string,
  ) {
    super(reason);
  }
}

/** Parses, verifies, validates and stores one notification; never throws. */
export async function applyNotification(
  db: Database,
  raw: RawNotification,
  keys: readonly string[],
  log: Logger,
  batcher: NotificationBatcher,
): Promise<NotificationResult> {
  let fields: Readonly<Record<string, string>>;
  let report: StatusReport;
  let keyIndex: number;
  try {
    fields = parseNotificationBody(raw);
    const verdict = verifyNotifySign(fields, keys);
    if (!verdict.ok) {
      const diagnosis = diagnosisLine(diagnoseSignature(fields, keys));
      throw new Rejection(verdict.reason === 'mismatch' ? 'bad-signature' : verdict.reason, fields, false, undefined, diagnosis);
    }
    keyIndex = verdict.keyIndex;
    report = reportFrom(fields, keyIndex);
  } catch (err) {
    if (!(err instanceof Rejection)) throw err;
    return reject(db, raw, err, log);
  }

  const dedupeKey = dedupeKeyOf(fields, report);
  try {
    const base: ReceivedNotification = {
      contentType: raw.contentType,
      rawBody: raw.body,
      verified: true,
      keyIndex,
      notifyId: fields.notifyId || null,
      merOrderId: report.merOrderId,
      status: report.status,
    };
    const payload = withoutSign(fields);
    // The common case (a plain forward move) is stored with others in one transaction; anything
    // else comes back, after that commit, for the ledger's own path below.
    const batched = await batcher.submit({ report, payload, notification: { ...base, merOrderId: report.merOrderId, status: report.status, dedupeKey } });
    if (batched.kind === 'unavailable') throw batched.error;
    const result =
      batched.kind === 'stored'
        ? { outcome: 'applied' as const, reason: batched.reason, notificationId: batched.notificationId, version: batched.version }
        : await applyOnItsOwn(db, report, payload, base, dedupeKey);
    const line = {
      merOrderId: report.merOrderId,
      status: report.status,
      notifyId: fields.notifyId,
      outcome: result.outcome,
      reason: result.reason,
      notificationId: result.notificationId,
      version: result.version,
    };
    if (result.outcome === 'review' || result.outcome === 'created') log.warn(line, 'notification needs review');
    else log.info(line, 'notification stored');
    return { ...result, httpStatus: 200, body: 'SUCCESS', merOrderId: report.merOrderId };
  } catch (err) {
    log.error(
      { merOrderId: report.merOrderId, status: report.status, err: describeError(err) },
      'notification could not be stored; answering 503 so UMS retries',
    );
    return { outcome: 'failed', httpStatus: 503, body: 'FAILED', reason: 'storage-failure', merOrderId: report.merOrderId };
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
  payload: Record<string, string>,
  base: ReceivedNotification,
  dedupeKey: string,
): Promise<Stored> {
  const recordCopy = async (executor: Database): Promise<Stored> => {
    const copyId = await recordRepeat(executor, base, dedupeKey);
    return { outcome: 'duplicate', reason: 'redelivery', notificationId: copyId, version: undefined };
  };
  try {
    return await db.transaction(async (tx) => {
      const applied = await applyReportInTransaction(tx, report, 'NOTIFY', { payload });
      const storedId = await storeFirstCopy(tx, base, dedupeKey, { outcome: applied.outcome, reason: applied.reason, eventId: applied.event?.id });
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
 * The decoded parameters of a notification body, decoded exactly once. Form bodies keep the first
 * of repeated names (§4.2); JSON objects have their scalars turned into the strings UMS signs.
 */
export function parseNotificationBody(raw: RawNotification): Record<string, string> {
  const type = raw.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-www-form-urlencoded') return parseForm(raw.body);
  if (type === 'application/json' || type.endsWith('+json')) return parseJson(raw.body);
  throw new Rejection('unsupported-content-type');
}

function parseForm(body: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(body);
  } catch {
    throw new Rejection('unparsable-body');
  }
  for (const [name, value] of params) if (!(name in fields)) fields[name] = value;
  if (Object.keys(fields).length === 0) throw new Rejection('unparsable-body');
  return fields;
}

function parseJson(body: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new Rejection('unparsable-body');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Rejection('unparsable-body');
  const fields: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (v === null || v === undefined) fields[name] = '';
    else if (typeof v === 'string') fields[name] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') fields[name] = String(v);
    else fields[name] = JSON.stringify(v);
  }
  return fields;
}

/**
 * Whole fen, no sign, no leading zeros, at most 9 digits; then at most MAX_AMOUNT_FEN, the most UMS
 * allows (amounts are 1..100000000). Anything larger is not a real amount: it is rejected as
 * `invalid-field:<name>` (400, stored for audit with the verified flag) rather than reaching the
 * ledger, where sums of such amounts would overflow the integer columns and fail every retry.
 */
const FEN = /^(0|[1-9]\d{0,8})$/;

/** The ledger's view of a verified notification; throws Rejection for a field we cannot use. */
function reportFrom(signed: Readonly<Record<string, string>>, keyIndex: number): StatusReport {
  const fields = readableFields(signed);
  const invalid = (name: string): never => {
    throw new Rejection(`invalid-field:${name}`, signed, true, keyIndex);
  };
  const text = (name: string): string | undefined => {
    const v = fields[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const fen = (name: string): number | undefined => {
    const v = text(name);
    if (v === undefined) return undefined;
    if (!FEN.test(v) || Number(v) > MAX_AMOUNT_FEN) invalid(name);
    return Number(v);
  };

  const merOrderId = text('merOrderId');
  if (merOrderId === undefined || merOrderId.length > 64) invalid('merOrderId');
  const status = normaliseStatus(fields.status ?? '');
  if (!status) invalid('status');

  let payTime: Date | undefined;
  const payTimeText = text('payTime');
  if (payTimeText !== undefined) payTime = parseBeijing(payTimeText) ?? invalid('payTime');

  const report: StatusReport = {
    merOrderId: merOrderId as string,
    status: status as NonNullable<typeof status>,
    totalAmount: fen('totalAmount'),
    mid: text('mid'),
    tid: text('tid'),
    instMid: text('instMid'),
    targetOrderId: text('targetOrderId'),
    targetSys: text('targetSys'),
    seqId: text('seqId'),
    payTime,
    settleDate: text('settleDate'),
    buyerPayAmount: fen('buyerPayAmount'),
    receiptAmount: fen('receiptAmount'),
  };
  const refundOrderId = text('refundOrderId');
  const refundAmount = fen('refundAmount');
  const refundTargetOrderId = text('refundTargetOrderId');
  if (refundOrderId !== undefined) {
    if (refundAmount === undefined) invalid('refundAmount');
    report.refund = dropUndefined({ refundOrderId, refundAmount: refundAmount as number, status: normaliseRefundStatus(text('refundStatus')), refundTargetOrderId });
  } else if (report.status === 'TRADE_REFUND' && refundAmount !== undefined && refundAmount > 0) {
    // A refund without our refundOrderId (made in the UMS merchant portal, say): count it once under
    // an id UMS gave it; with none at all the ledger flags the payment instead of guessing.
    const syntheticId = syntheticRefundId({ refundTargetOrderId, notifyId: text('notifyId') });
    if (syntheticId === undefined) report.unidentifiedRefundAmount = refundAmount;
    else report.refund = dropUndefined({ refundOrderId: syntheticId, refundAmount, status: normaliseRefundStatus(text('refundStatus')), refundTargetOrderId });
  }
  return dropUndefined(report);
}

/**
 * The fields to read (not to verify: the signature is over what was received). A bills/QR
 * notification (§4.1, vector NTF-07) names the order `billNo`, its state `billStatus`, and carries
 * the payment details as a JSON string in `billPayment`; read it as the order notice it is.
 */
function readableFields(signed: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (signed.merOrderId || !signed.billNo) return signed;
  const fields: Record<string, string> = { ...signed, merOrderId: signed.billNo };
  if (!signed.status && signed.billStatus) fields.status = statusFromBillStatus(signed.billStatus) ?? signed.billStatus;
  let payment: unknown;
  try {
    payment = signed.billPayment ? JSON.parse(signed.billPayment) : undefined;
  } catch {
    payment = undefined;
  }
  if (payment && typeof payment === 'object' && !Array.isArray(payment)) {
    const p = payment as Record<string, unknown>;
    const copy = (to: string, from = to) => {
      const v = p[from];
      if ((typeof v === 'string' || typeof v === 'number') && !fields[to]) fields[to] = String(v);
    };
    copy('payTime');
    copy('settleDate');
    copy('targetOrderId');
    copy('targetSys');
    copy('seqId', 'paySeqId');
    copy('buyerPayAmount');
    copy('receiptAmount');
  }
  return fields;
}

/**
 * notifyId identifies one notification and its redeliveries; status and refund ride along because
 * notifyId's granularity is undocumented (§4.3), so two different facts never share a key.
 * Without notifyId: merOrderId + status + amounts.
 */
export function dedupeKeyOf(fields: Readonly<Record<string, string>>, report: StatusReport): string {
  const refund = report.refund
    ? `|${report.refund.refundOrderId}|${report.refund.refundAmount}${report.refund.status && report.refund.status !== 'SUCCESS' ? `|${report.refund.status}` : ''}`
    : report.unidentifiedRefundAmount !== undefined
      ? `||${report.unidentifiedRefundAmount}`
      : '';
  if (fields.notifyId) return `n|${fields.notifyId}|${report.merOrderId}|${report.status}${refund}`;
  return `o|${report.merOrderId}|${report.status}|${report.totalAmount ?? ''}${refund}`;
}

async function reject(db: Database, raw: RawNotification, rejection: Rejection, log: Logger): Promise<NotificationResult> {
  const fields = rejection.fields;
  const merOrderId = fields?.merOrderId || undefined;
  let notificationId: number | undefined;
  try {
    notificationId = await recordRejected(
      db,
      {
        contentType: raw.contentType,
        rawBody: raw.body,
        verified: rejection.verified,
        keyIndex: rejection.keyIndex ?? null,
        notifyId: fields?.notifyId?.slice(0, 64) || null,
        merOrderId: merOrderId?.slice(0, 64) ?? null,
        status: fields?.status?.slice(0, 32) || null,
      },
      { reason: rejection.reason, diagnosis: rejection.diagnosis ?? null },
    );
  } catch (err) {
    // The answer stays 400: the body is wrong whether or not we could keep a copy of it.
    log.error({ err: describeError(err), reason: rejection.reason }, 'rejected notification could not be stored for audit');
  }
  // `diagnosis`, not `signature`: the logger censors any field named signature.
  log.warn({ merOrderId, reason: rejection.reason, diagnosis: rejection.diagnosis, notificationId }, 'notification rejected');
  return { outcome: 'rejected', httpStatus: 400, body: 'FAILED', reason: rejection.reason, merOrderId, notificationId };
}

function withoutSign(fields: Readonly<Record<string, string>>): Record<string, string> {
  const { sign: _sign, ...rest } = fields;
  return rest;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * An error for the log: class, code and the driver's own message. Drizzle's wrapper message
 * repeats the query's parameters, which here include the raw body and its `sign`: never log it.
 */
function describeError(err: unknown): { type: string; message: string; code?: string } {
  const root = err instanceof DrizzleQueryError && err.cause !== undefined ? err.cause : err;
  if (root instanceof Error) {
    const code = (root as { code?: unknown }).code;
    const message = root instanceof DrizzleQueryError ? 'query failed' : root.message;
    return { type: root.name, message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { type: typeof root, message: 'non-error thrown' };
}
