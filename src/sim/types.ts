/**
 * The simulator's vocabulary: credentials, orders, refunds and the errCodes it answers with
 * (PROTOCOL.md §5.1, §6.1). Everything here is plain data; behaviour lives in the other files.
 */

export interface SimCredentials {
  appId: string;
  appKey: string;
  /** The communication key (通讯密钥) that signs notifications; never the appKey. */
  notifyKey: string;
  /** The 4-character source number every merOrderId / billNo / refundOrderId starts with. */
  sourceId: string;
  mid: string;
  tid: string;
}

export type OrderStatus = 'NEW_ORDER' | 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_REFUND' | 'TRADE_CLOSED' | 'UNKNOWN';

/** Outcome a test or a person picks for an open order. */
export type PayOutcome = 'TRADE_SUCCESS' | 'TRADE_CLOSED';

export type ErrCode =
  | 'SUCCESS'
  | 'BAD_REQUEST'
  | 'BAD_SIGN'
  | 'NO_ORDER'
  | 'DUP_ORDER'
  | 'ORDER_PROCESSING'
  | 'OPERATION_NOT_ALLOWED'
  | 'TARGET_FAIL'
  | 'NET_ERROR'
  | 'TIMEOUT'
  | 'INTERNAL_ERROR'
  | 'TXN_DISCARDED'
  | 'NO_MERCHANT'
  | 'INVALID_ORDER'
  | 'NO_SERVICE'
  | 'ABNORMAL_REQUEST_TIME'
  | 'INVALID_RESPONSE'
  | 'HAS_CANCELLED'
  | '1000';

/** Which create API an order came from: decides instMid, targetSys and the notification's msgType. */
export interface ChannelSpec {
  /** Request path, e.g. `/v1/netpay/wx/unified-order`. */
  path: string;
  /** Short name shown on the cashier page and in `/_sim/orders`. */
  name: string;
  method: 'POST' | 'GET';
  instMids: readonly string[];
  targetSys: string;
  msgType: string;
  family: 'netpay' | 'bills';
}

/** PROCESSING only under the `refund-processing` scenario, until the refund settles. */
export type RefundStatus = 'SUCCESS' | 'PROCESSING' | 'FAIL';

/** How a PROCESSING refund will end, and from when on (the simulator's clock). */
export interface PendingRefund {
  settlesAt: Date;
  outcome: 'SUCCESS' | 'FAIL';
}

export interface RefundRecord {
  refundOrderId: string;
  refundAmount: number;
  refundTargetOrderId: string;
  refundStatus: RefundStatus;
  /** When the refund was answered; once SUCCESS, when the money went back. */
  refundPayTime: Date;
  refundDesc?: string;
  /** A split payment's refund: the platform's part and the sub-merchant's. */
  division?: { platformAmount: number; subOrders: { mid: string; totalAmount: number }[] };
  /** Set while refundStatus is PROCESSING. */
  pending?: PendingRefund;
}

export interface StatusStep {
  status: OrderStatus;
  at: Date;
}

export interface SimOrder {
  /** merOrderId, or billNo for bills (both are the merchant's id of the order). */
  merOrderId: string;
  channel: ChannelSpec;
  instMid: string;
  mid: string;
  tid: string;
  totalAmount: number;
  status: OrderStatus;
  history: StatusStep[];
  createdAt: Date;
  expiresAt: Date;
  notifyUrl?: string;
  returnUrl?: string;
  orderDesc?: string;
  attachedData?: string;
  /** The create request's srcReserve: answers echo the request's own, notifications this one. */
  srcReserve?: string;
  /** The create request's msgId, echoed in the order's notifications (notification-fields.md). */
  msgId?: string;
  /** WeChat: the payer's subOpenId from the create request, notified as subBuyerId. */
  subOpenId?: string;
  /** Fen of a discount funded by a marketing campaign (not the merchant), set when the buyer pays. */
  discount?: number;
  /** Alipay: the buyer's (masked) logon name, once paid. */
  buyerUsername?: string;
  /** UnionPay: the (masked) card number and its retrieval reference number, once paid. */
  bankCardNo?: string;
  refId?: string;
  /** The paying bank or wallet account type, once paid (WeChat bank_type, e.g. CMB_DEBIT). */
  bankInfo?: string;
  /** A guaranteed payment (担保, secureTransaction): UMS holds the money until secure-complete / secure-cancel. */
  secure?: boolean;
  /** UNCOMPLETED once paid, then PARTLY_COMPLETED / ALL_COMPLETED (secure-complete) or CANCELED (secure-cancel). */
  secureStatus?: 'UNCOMPLETED' | 'PARTLY_COMPLETED' | 'ALL_COMPLETED' | 'CANCELED';
  /** Fen released to the merchant by secure-complete; the rest went back to the buyer. */
  completeAmount?: number;
  /** A split payment (divisionFlag): the platform's share and each sub-merchant's. */
  division?: { platformAmount: number; subOrders: { mid: string; totalAmount: number }[] };
  seqId: string;
  targetOrderId?: string;
  buyerId?: string;
  payTime?: Date;
  settleDate?: string;
  buyerPayAmount?: number;
  receiptAmount?: number;
  refunds: RefundRecord[];
  refundedAmount: number;
  /** Bills only. */
  billDate?: string;
  qrCodeId?: string;
  billQRCode?: string;
}

/** A JSON object as read from a request body. */
export type JsonObject = Record<string, unknown>;
