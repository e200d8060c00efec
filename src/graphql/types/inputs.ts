/** Mutation inputs and payloads (CONTRACT.md). Validation of values is the commands' job. */
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { PaymentChannelEnum, PaymentStatusEnum, EventSourceEnum, type EventSource, type PaymentChannel, type PaymentStatus } from './enums.js';
import { Payment } from './payment.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

@InputType({ description: "A sub-merchant's share of a split payment (分账), or of its refund" })
export class SubOrderInput {
  @Field(() => String, { description: "The sub-merchant's UMS merchant number (8 to 32 letters or digits)" })
  mid!: string;

  @Field(() => Int, { description: 'fen (分), 0 or more' })
  totalAmount!: number;
}

@InputType()
export class CreatePaymentInput {
  @Field(() => PaymentChannelEnum)
  channel!: PaymentChannel;

  @Field(() => Int, { description: 'fen (分)' })
  totalAmount!: number;

  @Field(() => ID, { nullable: true, description: 'Generated with the UMS_SOURCE_ID prefix when left out' })
  merOrderId?: string;

  @Field(() => String, { nullable: true })
  description?: string;

  @Field(() => String, { nullable: true, description: "WeChat payer's openid (required for WECHAT_MINI and WECHAT_JSAPI)" })
  subOpenId?: string;

  @Field(() => String, { nullable: true, description: 'Alipay payer (required for ALIPAY_MINI and ALIPAY_JSAPI)' })
  userId?: string;

  @Field(() => String, {
    nullable: true,
    description: "WeChat appId: the app's (required for APP_WECHAT), or the mini program's / official account's (else the merchant's configured one)",
  })
  subAppId?: string;

  @Field(() => String, { nullable: true })
  returnUrl?: string;

  @Field(() => DateTimeScalar, { nullable: true })
  expireTime?: Date;

  @Field(() => ID, {
    nullable: true,
    description: "The merchant the payment is for (left out: the key's own merchant, or `default` for a gateway-wide key). A key bound to a merchant creates for its own only",
  })
  merchantId?: string;

  @Field(() => String, {
    nullable: true,
    description: 'Your own text, sent to UMS with the order and echoed in its notifications (at most 255 characters, no & or =)',
  })
  attachedData?: string;

  @Field(() => String, { nullable: true, description: "UMS's srcReserve (the requesting system's reserved field), sent and echoed like attachedData" })
  srcReserve?: string;

  @Field(() => Boolean, {
    nullable: true,
    description: 'A guaranteed payment (担保): UMS holds the money until completeSecurePayment (whole or part) or cancelSecurePayment; refunds only after completion',
  })
  secureTransaction?: boolean;

  @Field(() => Boolean, { nullable: true, description: 'A split payment (分账): platformAmount plus the subOrders must add up to totalAmount' })
  divisionFlag?: boolean;

  @Field(() => Int, { nullable: true, description: "Split payments: the platform's share, fen (分)" })
  platformAmount?: number;

  @Field(() => [SubOrderInput], { nullable: true, description: "Split payments: each sub-merchant's share (at most 20)" })
  subOrders?: SubOrderInput[];

  @Field(() => JSONScalar, {
    nullable: true,
    description: 'Your own key/value data, kept by the gateway and never sent to UMS: at most 50 keys (1..40 characters), values string (≤ 500), number, boolean or null, ≤ 4 KB in all',
  })
  metadata?: Record<string, unknown>;
}

@ObjectType()
export class CreatePaymentPayload {
  @Field(() => Payment)
  payment!: Payment;

  @Field(() => JSONScalar, {
    nullable: true,
    description: 'What the payer hands to its pay API: miniPayRequest (mini programs), jsPayRequest (WECHAT_JSAPI, ALIPAY_JSAPI, Alipay mini), appPayRequest (APP_*)',
  })
  payParams?: unknown;

  @Field(() => String, { nullable: true, description: "QR_CODE: the code's content/URL" })
  qrCode?: string;

  @Field(() => String, { nullable: true, description: 'H5_*: the signed URL to open in the browser' })
  payUrl?: string;

  @Field(() => String, {
    description:
      "What the merchant's server hands to its frontend instead of any key (Authorization: Bearer <clientSecret>): " +
      'it reads and watches this one payment, and stops working 24 h after the payment is final',
  })
  clientSecret!: string;
}

@InputType()
export class RefundPaymentInput {
  @Field(() => ID)
  merOrderId!: string;

  @Field(() => Int, { description: 'fen (分)' })
  refundAmount!: number;

  @Field(() => ID, { nullable: true, description: 'Generated when left out' })
  refundOrderId?: string;

  @Field(() => String, { nullable: true })
  description?: string;

  @Field(() => [SubOrderInput], { nullable: true, description: "Refunds of split payments: the one sub-merchant's part (with platformAmount, adding up to refundAmount)" })
  subOrders?: SubOrderInput[];

  @Field(() => Int, { nullable: true, description: "Refunds of split payments: the platform's part, fen (分)" })
  platformAmount?: number;
}

@ObjectType({
  description:
    'A change of a payment, pushed to subscribers. version, status, previousStatus, source and at describe this change; ' +
    'payment is the payment as read when the change was delivered, so when changes follow each other closely it may ' +
    'already show a later one (payment.version > version). That later change is pushed next.',
})
export class PaymentStatusChange {
  @Field(() => Payment, { description: 'The payment as it stood when this change was delivered (may be newer than the change: compare version)' })
  payment!: Payment;

  @Field(() => Int, { description: "The payment's version after this change" })
  version!: number;

  @Field(() => PaymentStatusEnum, { nullable: true })
  previousStatus!: PaymentStatus | null;

  @Field(() => PaymentStatusEnum)
  status!: PaymentStatus;

  @Field(() => EventSourceEnum)
  source!: EventSource;

  @Field(() => DateTimeScalar)
  at!: Date;

  @Field(() => String, { description: "This change's place in the event feed: subscribe again with after: cursor to resume after it" })
  cursor!: string;
}
