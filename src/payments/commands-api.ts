/**
 * What the GraphQL layer (and anything else above the domain) may ask of payments: the
 * interface only, so callers depend on it and not on the implementation in commands.ts.
 *
 * Every method throws `PaymentError` (errors.ts) for an outcome the caller must act on. An
 * ambiguous UMS answer (timeout, 5xx, DUP_ORDER…) is not an error here: the payment or refund
 * comes back as UNKNOWN and the sync scheduler settles it by query.
 */
import type { PaymentRow, RefundRow } from '../db/schema.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../ums/types.js';

export { PAYMENT_CHANNELS, type PaymentChannel };
export type { PaymentRow, RefundRow };

export interface CreatePaymentInput {
  channel: PaymentChannel;
  /** Fen, 1..100000000. */
  totalAmount: number;
  /** Generated with the UMS_SOURCE_ID prefix when absent. */
  merOrderId?: string;
  /** Sent to UMS as orderDesc, which UMS echoes back signed: no `&` or `=`. */
  description?: string;
  /** WeChat payer's openid (required for WECHAT_MINI and WECHAT_JSAPI). */
  subOpenId?: string;
  /** Alipay payer (required for ALIPAY_MINI and ALIPAY_JSAPI). */
  userId?: string;
  /** WeChat appId: the app's (required for APP_WECHAT), or the mini program's / official account's. */
  subAppId?: string;
  returnUrl?: string;
  expireTime?: Date;
  /** Sent to UMS and echoed in its notifications (signed): no `&` or `=`, at most 255 characters. */
  attachedData?: string;
  /** A guaranteed payment (担保): UMS holds the money until completeSecure / cancelSecure. */
  secureTransaction?: boolean;
  /** A split payment (分账): platformAmount + Σ subOrders.totalAmount = totalAmount. */
  divisionFlag?: boolean;
  platformAmount?: number;
  subOrders?: readonly { mid: string; totalAmount: number }[];
  /** UMS's srcReserve: sent and echoed like attachedData. */
  srcReserve?: string;
  /** The caller's own data, kept by the gateway only (commands/metadata.ts bounds it). */
  metadata?: Readonly<Record<string, unknown>>;
}

export interface CreatePaymentResult {
  payment: PaymentRow;
  /** Mini programs: what the mini program hands to its pay API. */
  payParams?: unknown;
  /** QR_CODE: the code's content (billQRCode). */
  qrCode?: string;
  /** H5_*: the signed OPEN-FORM-PARAM URL to open in the browser. */
  payUrl?: string;
}

export interface RefundPaymentInput {
  merOrderId: string;
  /** Fen. */
  refundAmount: number;
  /**
   * Generated with the UMS_SOURCE_ID prefix when absent; then the request must carry an
   * Idempotency-Key (the generated id derives from it), so a retry never refunds twice.
   */
  refundOrderId?: string;
  /** Sent to UMS as refundDesc, which UMS echoes back signed: no `&` or `=`. */
  description?: string;
  /** Refunds of split payments: one sub-merchant's part and the platform's, adding up to refundAmount. */
  subOrders?: readonly { mid: string; totalAmount: number }[];
  platformAmount?: number;
}

export interface CommandOptions {
  /** The `Idempotency-Key` header, when the request carried one. */
  idempotencyKey?: string;
  /**
   * Who acts (CONTRACT.md "Event feed": a key's id, `env:…`, `client`), recorded on the events
   * this request writes. Undefined: `system`.
   */
  actor?: string;
  /**
   * The merchant the caller is bound to: another merchant's payment is NOT_FOUND, exactly as one
   * that does not exist; a create is for this merchant; Idempotency-Keys are this merchant's own.
   * Undefined: a gateway-wide caller (every payment; creates for `default`).
   */
  merchantId?: string;
}

export type SimulatedOutcome = 'TRADE_SUCCESS' | 'TRADE_CLOSED';

export interface PaymentCommands {
  create(input: CreatePaymentInput, opts: CommandOptions): Promise<CreatePaymentResult>;
  /** Asks UMS (query / bills query) and stores its answer with source SYNC, as every active query. */
  sync(merOrderId: string, opts?: CommandOptions): Promise<PaymentRow>;
  /** Closes an unpaid order at UMS and stores the result. */
  close(merOrderId: string, opts?: CommandOptions): Promise<PaymentRow>;
  refund(input: RefundPaymentInput, opts: CommandOptions): Promise<RefundRow>;
  /** Guaranteed payments (担保): release the whole or `amount` fen to the merchant; idempotent. */
  completeSecure?(merOrderId: string, amount?: number): Promise<PaymentRow>;
  /** Guaranteed payments: give everything back to the buyer and close; idempotent. */
  cancelSecure?(merOrderId: string): Promise<PaymentRow>;
  /** Admin: any UMS Open API call, signed; answers UMS's decoded JSON. */
  /** `dataTag`: wrap the body as `{"data": {...}}` for this call; undefined: the client's UMS_DATA_TAG. */
  callUms(service: string, version: string, body: unknown, dataTag?: boolean): Promise<unknown>;
  /**
   * Only in simulator mode: drives the simulator's control API (buyer pays / order closes),
   * which then notifies the gateway; resolves with the payment once the change is stored.
   */
  simulatePayment?(merOrderId: string, outcome: SimulatedOutcome, opts?: CommandOptions): Promise<PaymentRow>;
}
