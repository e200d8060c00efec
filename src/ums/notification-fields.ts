/**
 * Every field of the payment notification, typed (UMS's own table, shared/ums/notification-fields.md,
 * plus the fields PROTOCOL.md §4.1 adds from SDK models and the documentation's example): amounts
 * as whole fen, times read as Beijing wall-clock time, everything else verbatim.
 *
 * Reading is tolerant where the ledger does not depend on a field: a required-by-the-table field
 * that is absent (`msgSrc`, `responseTimestamp`: a published real notification, vector NTF-03,
 * lacks both) is simply absent, and an amount or time that does not read keeps its text. The
 * fields the ledger acts on are checked strictly in notification.ts before this runs.
 */
import { parseBeijing } from './time.js';

/** How a field is typed: whole fen, a Beijing date-time, or text kept as it arrived. */
export type NotificationFieldKind = 'fen' | 'time' | 'text';

/** The table's fields and PROTOCOL.md's additions, by kind (names exactly as UMS spells them). */
export const NOTIFICATION_FIELD_KINDS = {
  // UMS's table (notification-fields.md), in its order.
  msgId: 'text',
  msgType: 'text',
  msgSrc: 'text',
  srcReserve: 'text',
  responseTimestamp: 'time',
  mid: 'text',
  tid: 'text',
  seqId: 'text',
  settleRefId: 'text',
  refId: 'text',
  status: 'text',
  totalAmount: 'fen',
  merName: 'text',
  merOrderId: 'text',
  targetOrderId: 'text',
  targetSys: 'text',
  targetStatus: 'text',
  buyerId: 'text',
  targetMid: 'text',
  bankCardNo: 'text',
  bankInfo: 'text',
  billFunds: 'text',
  billFundsDesc: 'text',
  buyerPayAmount: 'fen',
  buyerUsername: 'text',
  couponAmount: 'fen',
  invoiceAmount: 'fen',
  payTime: 'time',
  receiptAmount: 'fen',
  settleDate: 'text',
  subBuyerId: 'text',
  activityIds: 'text',
  yxlmAmount: 'fen',
  buyerCashPayAmt: 'fen',
  couponMerchantContribute: 'fen',
  couponOtherContribute: 'fen',
  signType: 'text',
  // PROTOCOL.md §4.1 (SDK models) and the documentation's JSON example (fenOrderId).
  instMid: 'text',
  attachedData: 'text',
  orderDesc: 'text',
  createTime: 'time',
  connectSys: 'text',
  subInst: 'text',
  mchntUuid: 'text',
  notifyId: 'text',
  ns: 'text',
  refundAmount: 'fen',
  refundDesc: 'text',
  refundOrderId: 'text',
  refundTargetOrderId: 'text',
  refundPayTime: 'time',
  refundSettleDate: 'text',
  refundStatus: 'text',
  refundExtOrderId: 'text',
  extOrderId: 'text',
  goodsTradeNo: 'text',
  secureStatus: 'text',
  completeAmount: 'fen',
  fenOrderId: 'text',
} as const satisfies Record<string, NotificationFieldKind>;

export type NotificationFieldName = keyof typeof NOTIFICATION_FIELD_KINDS;

type ValueOf<K extends NotificationFieldKind> = K extends 'fen' ? number : K extends 'time' ? Date : string;

/** Every known field, typed; all optional (the table requires only msgSrc, responseTimestamp, mid, tid, sign). */
export type UmsNotificationDetails = {
  -readonly [N in NotificationFieldName]?: ValueOf<(typeof NOTIFICATION_FIELD_KINDS)[N]>;
};

const FEN = /^(0|[1-9]\d{0,8})$/;

function kindOf(name: string): NotificationFieldKind | undefined {
  return Object.hasOwn(NOTIFICATION_FIELD_KINDS, name) ? NOTIFICATION_FIELD_KINDS[name as NotificationFieldName] : undefined;
}

/** The known fields of a signed field set, typed; unreadable amounts and times are left out. */
export function notificationDetails(fields: Readonly<Record<string, string>>): UmsNotificationDetails {
  const out: Record<string, string | number | Date> = {};
  for (const [name, text] of Object.entries(fields)) {
    const kind = kindOf(name);
    if (kind === undefined || text === '') continue;
    const value = typedValue(kind, text);
    if (value !== undefined) out[name] = value;
  }
  return out as UmsNotificationDetails;
}

function typedValue(kind: NotificationFieldKind, text: string): string | number | Date | undefined {
  if (kind === 'fen') return FEN.test(text) ? Number(text) : undefined;
  if (kind === 'time') return parseBeijing(text);
  return text;
}

/**
 * A JSON view of every field (the admin's `Payment.notification`): amounts as numbers, times as
 * ISO 8601 with the +08:00 offset UMS meant, other text verbatim. A field outside the known set,
 * or an amount or time that does not read, keeps its text: nothing UMS sent is dropped.
 */
export function notificationJson(fields: Readonly<Record<string, string>>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, text] of Object.entries(fields)) {
    if (name === 'sign') continue;
    const kind = kindOf(name);
    const value = kind === undefined || text === '' ? text : typedValue(kind, text);
    out[name] = value instanceof Date ? beijingIso(value) : (value ?? text);
  }
  return out;
}

/** `2026-12-07T16:05:09+08:00`: the instant, written in Beijing time as UMS wrote it. */
function beijingIso(at: Date): string {
  return `${new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}
