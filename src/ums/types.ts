/**
 * Request and response shapes of the netpay and bills operations (PROTOCOL.md §5), as the
 * operations in operations.ts take and return them. Amounts are integer fen; responses' amounts
 * are read leniently (UMS sends numbers, some deployments strings) and are `undefined` when
 * absent or unreadable. Every response keeps the whole decoded answer in `raw`.
 */

/** CONTRACT.md's `PaymentChannel`. */
export type PaymentChannel =
  | 'WECHAT_MINI'
  | 'ALIPAY_MINI'
  | 'UNIONPAY_MINI'
  | 'QR_CODE'
  | 'H5_WECHAT'
  | 'H5_ALIPAY'
  | 'H5_UNIONPAY'
  | 'WECHAT_JSAPI'
  | 'ALIPAY_JSAPI'
  | 'APP_WECHAT'
  | 'APP_ALIPAY'
  | 'APP_UNIONPAY';

export const PAYMENT_CHANNELS: readonly PaymentChannel[] = [
  'WECHAT_MINI',
  'ALIPAY_MINI',
  'UNIONPAY_MINI',
  'QR_CODE',
  'H5_WECHAT',
  'H5_ALIPAY',
  'H5_UNIONPAY',
  'WECHAT_JSAPI',
  'ALIPAY_JSAPI',
  'APP_WECHAT',
  'APP_ALIPAY',
  'APP_UNIONPAY',
];

/** PROTOCOL.md §5.2 business types used by our channels. */
export type InstMid = 'MINIDEFAULT' | 'QRPAYDEFAULT' | 'H5DEFAULT' | 'YUEDANDEFAULT' | 'APPDEFAULT';

/** Merchant context given once to `UmsOperations`. */
export interface MerchantContext {
  /** 商户号. */
  mid: string;
  /** 终端号. */
  tid: string;
  /** Where UMS posts notifications; per-order `notifyUrl` overrides it. */
  notifyUrl?: string;
  /** 4-character source number; when set, order ids must start with it (checked before sending). */
  sourceId?: string;
  /** WeChat mini program appId (`subAppId`), used when the order input gives none. */
  subAppId?: string;
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Fields shared by every create. */
export interface CreateOrderBase {
  /** Merchant order number, prefixed with the source number. For QR_CODE it is the billNo. */
  merOrderId: string;
  /** Fen, 1..100000000. */
  totalAmount: number;
  orderDesc?: string;
  /** A Date, or Beijing `yyyy-MM-dd HH:mm:ss` text. */
  expireTime?: Date | string;
  /** Overrides the merchant's notifyUrl. */
  notifyUrl?: string;
  returnUrl?: string;
  attachedData?: string;
  msgId?: string;
  srcReserve?: string;
  /** Further UMS fields, sent as given (e.g. goods, divisionFlag). */
  extra?: Readonly<Record<string, unknown>>;
}

export interface WechatMiniOrderInput extends CreateOrderBase {
  /** The payer's openid under the mini program. */
  subOpenId: string;
  /** The mini program's appId; falls back to the merchant context's. */
  subAppId?: string;
}

export interface AlipayMiniOrderInput extends CreateOrderBase {
  /** The Alipay buyer's userId. */
  userId: string;
}

export type UnionpayMiniOrderInput = CreateOrderBase & { userId?: string };

export interface WechatJsapiOrderInput extends CreateOrderBase {
  /** The payer's openid under the official account. */
  subOpenId: string;
  /** The official account's appId; falls back to the merchant context's. */
  subAppId?: string;
}

export interface AlipayJsapiOrderInput extends CreateOrderBase {
  /** The Alipay buyer's userId (service window). */
  userId: string;
}

export interface WechatAppOrderInput extends CreateOrderBase {
  /** The app's appId at the WeChat open platform. */
  subAppId: string;
}

export type AppOrderInput = CreateOrderBase;

export interface QrCodeOrderInput extends CreateOrderBase {
  /** `yyyy-MM-dd` (Beijing); today when absent. Needed again for bills query/refund. */
  billDate?: string;
  /** Shown to the payer; defaults to orderDesc. */
  billDesc?: string;
  /** A fixed QR code to attach the bill to. */
  qrCodeId?: string;
  walletOption?: string;
}

export type H5OrderInput = CreateOrderBase;

/** One input for `createOrder(channel, input)`: the union of every channel's fields. */
export interface ChannelOrderInput extends CreateOrderBase {
  subOpenId?: string;
  subAppId?: string;
  userId?: string;
  billDate?: string;
  billDesc?: string;
}

/** Which order a query/close is about: by our number or UMS's target number. */
export type OrderRef = { merOrderId: string; targetOrderId?: undefined } | { targetOrderId: string; merOrderId?: undefined };

export interface RefundInput {
  /** The original order. */
  merOrderId: string;
  /** Unique per refund, source-prefixed: resending it returns the earlier refund. */
  refundOrderId: string;
  /** Fen. */
  refundAmount: number;
  refundDesc?: string;
  targetOrderId?: string;
  extra?: Readonly<Record<string, unknown>>;
}

export interface RefundQueryInput {
  /** The original order. */
  merOrderId: string;
  refundOrderId: string;
}

export interface BillRef {
  billNo: string;
  /** `yyyy-MM-dd`, as at creation. */
  billDate: string;
}

export interface BillsRefundInput extends BillRef {
  refundOrderId: string;
  refundAmount: number;
  refundDesc?: string;
}

// ---------------------------------------------------------------------------------------------
// Responses

/** Fields common to netpay answers (§5.1). */
export interface NetpayResponse {
  errCode: string;
  errMsg?: string;
  /** The business result beside errCode, where an answer carries one (always a success here: a failed one is thrown). */
  resultCode?: string;
  resultInfo?: string;
  responseTimestamp?: string;
  mid?: string;
  tid?: string;
  instMid?: string;
  msgId?: string;
  srcReserve?: string;
  seqId?: string;
  settleRefId?: string;
  merName?: string;
  merOrderId?: string;
  /** Order status (§6.1), e.g. NEW_ORDER, TRADE_SUCCESS. Mapping is the payments room's job. */
  status?: string;
  targetSys?: string;
  targetStatus?: string;
  targetMid?: string;
  targetOrderId?: string;
  totalAmount?: number;
  /** The whole decoded answer. */
  raw: Readonly<Record<string, unknown>>;
}

/** What a mini program hands to its pay API (wx.requestPayment and friends). */
export type PayParams = Readonly<Record<string, unknown>>;

/** What every create (any channel) gives back. */
export interface CreatedOrder {
  channel: PaymentChannel;
  merOrderId: string;
  instMid: InstMid;
  totalAmount: number;
  /** UMS's status from the answer; absent for H5 (no call made). */
  status?: string;
  targetOrderId?: string;
  targetSys?: string;
  seqId?: string;
  /**
   * Mini programs: miniPayRequest / jsPayRequest, or `{ tradeNO }` for Alipay; JSAPI (official
   * account, service window): jsPayRequest; in-app: appPayRequest.
   */
  payParams?: PayParams;
  /** QR_CODE: the content to render as a QR code (billQRCode). */
  qrCode?: string;
  qrCodeId?: string;
  /** QR_CODE: the billDate used (keep it: bills query/refund need it). */
  billDate?: string;
  /** H5_*: the signed URL to open in the browser. */
  payUrl?: string;
  /** The decoded answer; absent for H5. */
  response?: NetpayResponse;
}

export interface QueryResponse extends NetpayResponse {
  buyerPayAmount?: number;
  receiptAmount?: number;
  invoiceAmount?: number;
  couponAmount?: number;
  refundAmount?: number;
  payTime?: string;
  settleDate?: string;
  buyerId?: string;
  billFunds?: string;
}

export interface RefundResponse extends NetpayResponse {
  /** SUCCESS | FAIL | PROCESSING | UNKNOWN; only SUCCESS and FAIL are final. */
  refundStatus?: string;
  refundOrderId?: string;
  refundTargetOrderId?: string;
  refundAmount?: number;
  refundFunds?: string;
  refundPayTime?: string;
}

export interface RefundQueryResponse extends RefundResponse {
  payTime?: string;
  settleDate?: string;
}

export type CloseResponse = NetpayResponse;

/** secure-complete / secure-cancel answers. */
export interface SecureResponse extends NetpayResponse {
  /** UNCOMPLETED | PARTLY_COMPLETED | ALL_COMPLETED | CANCELED (PROTOCOL.md §6.1). */
  secureStatus?: string;
  completeAmount?: number;
  completedAmount?: number;
}

export interface BillsQrCodeResponse extends NetpayResponse {
  billQRCode?: string;
  qrCodeId?: string;
  billNo?: string;
  billDate?: string;
}

export interface BillPayment {
  status?: string;
  payTime?: string;
  targetOrderId?: string;
  targetSys?: string;
  buyerId?: string;
  paySeqId?: string;
  merOrderId?: string;
  totalAmount?: number;
  buyerPayAmount?: number;
  receiptAmount?: number;
  invoiceAmount?: number;
  couponAmount?: number;
  settleDate?: string;
  raw: Readonly<Record<string, unknown>>;
}

export interface BillsQueryResponse extends NetpayResponse {
  /** PAID | UNPAID | REFUND | CLOSED | UNKNOWN. */
  billStatus?: string;
  billNo?: string;
  billDate?: string;
  createTime?: string;
  billQRCode?: string;
  /** Parsed from an object or a JSON string. */
  billPayment?: BillPayment;
}

export interface BillsRefundResponse extends RefundResponse {
  billNo?: string;
  billDate?: string;
  billStatus?: string;
}

export type BillsCloseResponse = NetpayResponse;
