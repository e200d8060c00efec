/**
 * What the GraphQL layer asks of the payment commands (implemented in commands.ts). Written by
 * the GraphQL side so both could be built at once; the commands module owns it from here on.
 */
import type { PaymentRow, RefundRow } from '../db/schema.js';

export const PAYMENT_CHANNELS = [
  'WECHAT_MINI',
  'ALIPAY_MINI',
  'UNIONPAY_MINI',
  'QR_CODE',
  'H5_WECHAT',
  'H5_ALIPAY',
  'H5_UNIONPAY',
] as const;
export type PaymentChannel = (typeof PAYMENT_CHANNELS)[number];

export interface PaymentCommands {
  create(
    input: {
      channel: PaymentChannel;
      totalAmount: number;
      merOrderId?: string;
      description?: string;
      subOpenId?: string;
      userId?: string;
      returnUrl?: string;
      expireTime?: Date;
    },
    opts: { idempotencyKey?: string },
  ): Promise<{ payment: PaymentRow; payParams?: unknown; qrCode?: string; payUrl?: string }>;
  sync(merOrderId: string): Promise<PaymentRow>;
  close(merOrderId: string): Promise<PaymentRow>;
  refund(
    input: { merOrderId: string; refundAmount: number; refundOrderId?: string; description?: string },
    opts: { idempotencyKey?: string },
  ): Promise<RefundRow>;
  callUms(service: string, version: string, body: unknown): Promise<unknown>;
  /** only in simulator mode */
  simulatePayment?(merOrderId: string, outcome: 'TRADE_SUCCESS' | 'TRADE_CLOSED'): Promise<PaymentRow>;
}
