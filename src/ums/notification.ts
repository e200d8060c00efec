/**
 * A UMS notification, from the raw body to verified, typed fields or a typed rejection
 * (PROTOCOL.md §4). Nothing here stores or answers anything: payments/ records what this returns,
 * http/notify.ts answers.
 *
 * Each step does work bounded by the body's size (at most 64 KiB reach it), whatever its shape:
 * 1. Parse once: form, as UMS sends it, or JSON (scalars flattened to the strings UMS signs). At
 *    most MAX_NOTIFICATION_FIELDS fields, each named as UMS names its fields (SIGNED_FIELD_NAME);
 *    a repeated name keeps its first value (§4.2), and the repetition is noted.
 * 2. Verify `sign` with each communication key (sign.ts). A failure is explained by the sign
 *    doctor, which works on a bounded number of variants and only within its budget.
 * 3. Refuse an ambiguous split: UMS signs `name=value` pairs joined by `&` with nothing escaped,
 *    so a value holding `&name=` would let the same signed text be read as other fields (a
 *    description echoed back signed, re-split into "paid" fields of another order).
 * 4. Read what the ledger acts on, typed: amounts whole fen within the UMS amount rule, times in
 *    Beijing time, a bills/QR notification read as the order notice it is, a refund's own fields.
 */
import { definedFields } from '../lib/objects.js';
import { MAX_AMOUNT_FEN } from './amounts.js';
import { diagnoseSignature, diagnosisLine, type DiagnosisBudget } from './sign-doctor.js';
import { verifyNotifySign, type NotifySignType } from './sign.js';
import { notificationDetails, type UmsNotificationDetails } from './notification-fields.js';
import { SIGNED_FIELD_NAME } from './signed-text.js';
import { parseBeijing } from './time.js';

export interface RawNotification {
  body: string;
  contentType: string;
}

/**
 * The most fields a notification may have. UMS's own table lists about 60 and a real notification
 * carries 20 to 40; anything far beyond is not a notification, and refusing it before verifying
 * keeps every later step small.
 */
export const MAX_NOTIFICATION_FIELDS = 200;
/** The longest field name accepted (UMS's longest is 24 characters). */
export const MAX_FIELD_NAME_LENGTH = 64;

/** Why a body was turned away before (or instead of) reaching a payment. */
export type NotificationRejectionReason =
  | 'unsupported-content-type'
  | 'unparsable-body'
  | 'too-many-fields'
  | 'invalid-field-name'
  | 'missing-sign'
  | 'unknown-sign-type'
  | 'bad-signature'
  /** Verified with one merchant's key, about another merchant's payment (payments/notifications.ts). */
  | 'merchant-mismatch'
  /** Posted to `/notify/ums/{merchantId}` for a merchant this gateway does not know. */
  | 'unknown-merchant'
  /** A value holds `&name=`: the signed text could be split into other fields. */
  | `ambiguous-field:${string}`
  | `invalid-field:${string}`;

export interface NotificationRejection {
  ok: false;
  reason: NotificationRejectionReason;
  /** The signature verified (the body is UMS's, one of its fields is unusable). */
  verified: boolean;
  keyIndex?: number;
  /** For an operator: why the signature failed (sign doctor), repeated names. Never a key or a signature. */
  diagnosis?: string;
  /** As read from the body, for the audit record; unverified unless `verified`. */
  merOrderId?: string;
  notifyId?: string;
  status?: string;
}

/** refundStatus values (§6.1); only SUCCESS and FAIL are final. */
export type UmsRefundStatus = 'SUCCESS' | 'FAIL' | 'PROCESSING' | 'UNKNOWN';

/** What a notification says about a refund (status TRADE_REFUND plus `refund*` fields, §4.1). */
export interface UmsRefundNotice {
  /** Our refund number, when the refund was ours. */
  refundOrderId?: string;
  /** UMS's (or the channel's) number for the refund. */
  refundTargetOrderId?: string;
  /** The refund's own amount, fen. */
  refundAmount?: number;
  /**
   * The refund's own status when UMS sends one; anything outside §6.1 reads as UNKNOWN (ask
   * refund-query). Absent: UMS said nothing beyond the order's TRADE_REFUND.
   */
  refundStatus?: UmsRefundStatus;
}

/** A notification whose signature verified, read into the fields the gateway acts on. */
/** What UMS reports about an order, in notifications and query answers alike (amounts in fen). */
export interface UmsOrderFacts {
  totalAmount?: number;
  mid?: string;
  tid?: string;
  instMid?: string;
  targetOrderId?: string;
  targetSys?: string;
  seqId?: string;
  payTime?: Date;
  settleDate?: string;
  buyerPayAmount?: number;
  receiptAmount?: number;
  /** Echoed from the create request, verbatim. */
  attachedData?: string;
  srcReserve?: string;
  /** A guaranteed payment's state (UNCOMPLETED, PARTLY_COMPLETED, ALL_COMPLETED, CANCELED). */
  secureStatus?: string;
}

export interface UmsNotification extends UmsOrderFacts {
  /** 0: the current communication key, 1: the previous one. */
  keyIndex: number;
  signType: NotifySignType;
  /** Every received field but `sign`, exactly as signed (the first of a repeated name). */
  fields: Readonly<Record<string, string>>;
  /** Every known field typed (notification-fields.ts): fen as numbers, Beijing times as instants. */
  details: UmsNotificationDetails;
  /** For an operator, when the body was odd but usable (repeated names). */
  note?: string;
  notifyId?: string;
  /** The merchant order number: merOrderId, or a bills notification's billNo. */
  merOrderId: string;
  /** `status` as UMS wrote it (§6.1, aliases included); mapping it is the domain's job. */
  status?: string;
  /** A bills/QR notification's billStatus (PAID, UNPAID, REFUND, CLOSED, UNKNOWN). */
  billStatus?: string;
  /** Present when any refund field is. */
  refund?: UmsRefundNotice;
}

export type NotificationReading = { ok: true; notification: UmsNotification } | NotificationRejection;

export interface ReadOptions {
  /** Limits how often the sign doctor looks into a failed signature (none: always). */
  diagnosis?: DiagnosisBudget | undefined;
}

/** The decoded fields of a body, or why there are none. */
export type ParsedBody =
  | { ok: true; fields: Readonly<Record<string, string>>; repeated: readonly string[] }
  | { ok: false; reason: 'unsupported-content-type' | 'unparsable-body' | 'too-many-fields' | 'invalid-field-name'; fields?: Readonly<Record<string, string>> };

/**
 * The communication keys to verify with: a list, or chosen from the parsed (still unverified)
 * fields, e.g. by `mid`/`tid` when one endpoint serves several merchants.
 */
export type NotifyKeys = readonly string[] | ((fields: Readonly<Record<string, string>>) => readonly string[]);

/** Parses, verifies and reads one notification; never throws. */
export function readNotification(raw: RawNotification, keyChoice: NotifyKeys, options: ReadOptions = {}): NotificationReading {
  const parsed = parseNotificationBody(raw);
  if (!parsed.ok) return { ok: false, reason: parsed.reason, verified: false, ...auditFields(parsed.fields) };
  const { fields, repeated } = parsed;
  const keys = typeof keyChoice === 'function' ? keyChoice(fields) : keyChoice;
  const note = repeated.length > 0 ? `repeated field(s) ${repeated.join(', ')}: the first value of each was used (PROTOCOL.md §4.2)` : undefined;

  const verdict = verifyNotifySign(fields, keys);
  if (!verdict.ok) {
    const diagnosis = diagnosisLine(diagnoseSignature(fields, keys, { budget: options.diagnosis }));
    return {
      ok: false,
      reason: verdict.reason === 'mismatch' ? 'bad-signature' : verdict.reason,
      verified: false,
      diagnosis: note ? `${diagnosis}; ${note}` : diagnosis,
      ...auditFields(fields),
    };
  }

  const rejected = (reason: NotificationRejectionReason): NotificationRejection => ({
    ok: false,
    reason,
    verified: true,
    keyIndex: verdict.keyIndex,
    ...(note ? { diagnosis: note } : {}),
    ...auditFields(fields),
  });
  const ambiguous = ambiguousField(fields);
  if (ambiguous !== undefined) return rejected(`ambiguous-field:${ambiguous}`);
  const read = readFields(fields);
  if (typeof read === 'string') return rejected(`invalid-field:${read}`);
  const { sign: _sign, ...signed } = fields;
  // Typed on first use: storing a notification never reads them.
  let details: UmsNotificationDetails | undefined;
  return {
    ok: true,
    notification: {
      ...read,
      keyIndex: verdict.keyIndex,
      signType: verdict.signType,
      fields: signed,
      get details() {
        return (details ??= notificationDetails(signed));
      },
      ...(note ? { note } : {}),
    },
  };
}

/**
 * The decoded parameters of a notification body, decoded exactly once. Form bodies keep the first
 * of repeated names (§4.2); JSON objects have their scalars turned into the strings UMS signs
 * (JSON.parse keeps the last of a repeated member, unnoticed: no source shows UMS sending JSON).
 */
export function parseNotificationBody(raw: RawNotification): ParsedBody {
  const type = raw.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  let entries: Iterable<[string, string]>;
  if (type === 'application/x-www-form-urlencoded') entries = new URLSearchParams(raw.body);
  else if (type === 'application/json' || type.endsWith('+json')) {
    const json = jsonEntries(raw.body);
    if (json === undefined) return { ok: false, reason: 'unparsable-body' };
    entries = json;
  } else return { ok: false, reason: 'unsupported-content-type' };

  const fields: Record<string, string> = {};
  const repeated = new Set<string>();
  let count = 0;
  let badName = false;
  for (const [name, value] of entries) {
    if (++count > MAX_NOTIFICATION_FIELDS) return { ok: false, reason: 'too-many-fields' };
    if (name.length > MAX_FIELD_NAME_LENGTH || !SIGNED_FIELD_NAME.test(name)) {
      // Keep reading (bounded by the count): the audit record still names the order.
      badName = true;
      continue;
    }
    if (Object.hasOwn(fields, name)) repeated.add(name);
    else fields[name] = value;
  }
  if (badName) return { ok: false, reason: 'invalid-field-name', fields };
  if (count === 0) return { ok: false, reason: 'unparsable-body' };
  return { ok: true, fields, repeated: [...repeated] };
}

/** A JSON object's members as strings; undefined for anything else (or what cannot be re-serialised). */
function jsonEntries(body: string): [string, string][] | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const names = Object.keys(value);
    // Above the cap the parser answers too-many-fields; stringifying the members first would be waste.
    const members = names.slice(0, MAX_NOTIFICATION_FIELDS + 1);
    return members.map((name) => {
      const v = (value as Record<string, unknown>)[name];
      if (v === null || v === undefined) return [name, ''];
      if (typeof v === 'string') return [name, v];
      if (typeof v === 'number' || typeof v === 'boolean') return [name, String(v)];
      // A nested value (deep nesting makes this throw: caught below as unparsable).
      return [name, JSON.stringify(v)];
    });
  } catch {
    return undefined;
  }
}

/**
 * `&name=` inside a value: with it, the signed text `…&a=x&name=y&…` is also the signing text of
 * a field set where `a` is `x` and `name` is `y`. Refusing every such value makes the verified
 * field set the only split of its signed text (names are SIGNED_FIELD_NAME, so `=` never occurs
 * in one). We never send `&` or `=` in the text UMS echoes back; a value UMS wrote itself with
 * them is refused too, and the sync query settles that order.
 */
const FIELD_START = new RegExp(`&${SIGNED_FIELD_NAME.source.replace(/^\^|\$$/g, '')}=`);

function ambiguousField(fields: Readonly<Record<string, string>>): string | undefined {
  for (const [name, value] of Object.entries(fields)) {
    if (name !== 'sign' && value.includes('&') && FIELD_START.test(value)) return name;
  }
  return undefined;
}

/** What names a refused body in the audit record and the log: unverified, so cut to what real ones need. */
function auditFields(fields: Readonly<Record<string, string>> | undefined): Pick<NotificationRejection, 'merOrderId' | 'notifyId' | 'status'> {
  const out: Pick<NotificationRejection, 'merOrderId' | 'notifyId' | 'status'> = {};
  if (fields?.merOrderId) out.merOrderId = fields.merOrderId.slice(0, 64);
  if (fields?.notifyId) out.notifyId = fields.notifyId.slice(0, 64);
  if (fields?.status) out.status = fields.status.slice(0, 32);
  return out;
}

/**
 * Whole fen, no sign, no leading zeros, at most 9 digits; then at most MAX_AMOUNT_FEN, the most UMS
 * allows (amounts are 1..100000000). Anything larger is not a real amount: rejected as
 * `invalid-field:<name>` rather than reaching the ledger, where sums of such amounts would
 * overflow the integer columns and fail every retry.
 */
const FEN = /^(0|[1-9]\d{0,8})$/;

const REFUND_STATUSES: readonly UmsRefundStatus[] = ['SUCCESS', 'FAIL', 'PROCESSING', 'UNKNOWN'];

type ReadFields = Omit<UmsNotification, 'keyIndex' | 'signType' | 'fields' | 'details' | 'note'>;

/** The typed view of verified fields, or the name of the field that cannot be used. */
function readFields(signed: Readonly<Record<string, string>>): ReadFields | string {
  const fields = readableFields(signed);
  const text = (name: string): string | undefined => {
    const v = fields[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const fen = (name: string): number | undefined | Invalid => {
    const v = text(name);
    if (v === undefined) return undefined;
    return FEN.test(v) && Number(v) <= MAX_AMOUNT_FEN ? Number(v) : invalid(name);
  };

  const merOrderId = text('merOrderId');
  if (merOrderId === undefined || merOrderId.length > 64) return 'merOrderId';
  const payTimeText = text('payTime');
  const payTime = payTimeText === undefined ? undefined : (parseBeijing(payTimeText) ?? invalid('payTime'));

  const amounts = {
    totalAmount: fen('totalAmount'),
    buyerPayAmount: fen('buyerPayAmount'),
    receiptAmount: fen('receiptAmount'),
    refundAmount: fen('refundAmount'),
  };
  for (const value of [payTime, ...Object.values(amounts)]) if (value instanceof Invalid) return value.name;
  const amount = (value: number | undefined | Invalid) => (typeof value === 'number' ? value : undefined);

  const refund: UmsRefundNotice = definedFields({
    refundOrderId: text('refundOrderId'),
    refundTargetOrderId: text('refundTargetOrderId'),
    refundAmount: amount(amounts.refundAmount),
    refundStatus: refundStatusOf(text('refundStatus')),
  });
  return definedFields({
    merOrderId,
    notifyId: text('notifyId'),
    status: text('status'),
    billStatus: signed.merOrderId ? undefined : text('billStatus'),
    totalAmount: amount(amounts.totalAmount),
    mid: text('mid'),
    tid: text('tid'),
    instMid: text('instMid'),
    targetOrderId: text('targetOrderId'),
    targetSys: text('targetSys'),
    seqId: text('seqId'),
    payTime: payTime instanceof Date ? payTime : undefined,
    settleDate: text('settleDate'),
    buyerPayAmount: amount(amounts.buyerPayAmount),
    receiptAmount: amount(amounts.receiptAmount),
    attachedData: text('attachedData'),
    srcReserve: text('srcReserve'),
    secureStatus: text('secureStatus'),
    refund: Object.keys(refund).length > 0 ? refund : undefined,
  });
}

class Invalid {
  constructor(readonly name: string) {}
}
function invalid(name: string): Invalid {
  return new Invalid(name);
}

function refundStatusOf(text: string | undefined): UmsRefundStatus | undefined {
  if (text === undefined) return undefined;
  const upper = text.trim().toUpperCase();
  return REFUND_STATUSES.find((s) => s === upper) ?? 'UNKNOWN';
}

/**
 * The fields to read (not to verify: the signature is over what was received). A bills/QR
 * notification (§4.1, vector NTF-07) names the order `billNo` and carries the payment details as
 * a JSON string in `billPayment`; read it as the order notice it is.
 */
function readableFields(signed: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (signed.merOrderId || !signed.billNo) return signed;
  const fields: Record<string, string> = { ...signed, merOrderId: signed.billNo };
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

/** Fields of a notification that identify the buyer (personal data, shared/ums notification table). */
export const BUYER_IDENTIFIER_FIELDS = ['buyerId', 'buyerUsername', 'bankCardNo', 'subBuyerId'] as const;

/**
 * The fields with buyer identifiers masked to their last 4 characters (`***1234`), for what is
 * kept beyond the raw body (event payloads, logs): the raw body itself is stripped by retention.
 */
export function maskBuyerIdentifiers(fields: Readonly<Record<string, string>>): Record<string, string> {
  const masked = maskIn(fields) as Record<string, string>;
  // A bills notification carries the payment, buyerId included, as a JSON string.
  if (fields.billPayment) {
    try {
      const payment: unknown = JSON.parse(fields.billPayment);
      if (payment && typeof payment === 'object' && !Array.isArray(payment)) masked.billPayment = JSON.stringify(maskIn(payment as Record<string, unknown>));
    } catch {
      // Not JSON: left as it is (the ledger does not read it either).
    }
  }
  return masked;
}

function maskIn(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const masked: Record<string, unknown> = { ...fields };
  for (const name of BUYER_IDENTIFIER_FIELDS) {
    const value = masked[name];
    if (typeof value === 'string' && value !== '') masked[name] = `***${value.length > 8 ? value.slice(-4) : ''}`;
  }
  return masked;
}
