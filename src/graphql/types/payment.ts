/**
 * Payment, PaymentEvent and Refund. Resolvers hand over the Drizzle rows (PaymentRow, …) as they
 * are: these classes only describe the fields, and the rows have every one of them.
 * `Payment.events` and `Payment.refunds` are resolved in resolvers/payment-fields.ts (batched).
 */
import { Authorized, Field, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { HiddenFromClients } from '../hidden-from-clients.js';
import { EventSourceEnum, PaymentChannelEnum, PaymentStatusEnum, type EventSource, type PaymentChannel, type PaymentStatus } from './enums.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

@ObjectType({ description: 'A status change applied to a payment, oldest first' })
export class PaymentEvent {
  @Field(() => ID)
  id!: number;

  @Field(() => ID, { description: 'The payment this change belongs to' })
  merOrderId!: string;

  @Field(() => ID)
  merchantId!: string;

  @Field(() => EventSourceEnum)
  source!: EventSource;

  @Field(() => PaymentStatusEnum)
  status!: PaymentStatus;

  @Field(() => PaymentStatusEnum, { nullable: true })
  previousStatus!: PaymentStatus | null;

  @Field(() => DateTimeScalar)
  at!: Date;

  @Field(() => Int, { description: "The payment's version after this change" })
  version!: number;

  @UseMiddleware(HiddenFromClients)
  @Field(() => String, { nullable: true, description: 'Why the change was applied (or flagged); null for a client secret' })
  reason!: string | null;

  @UseMiddleware(HiddenFromClients)
  @Field(() => String, {
    nullable: true,
    description: "Null for a client secret. Who acted: a run-time API key's id, `env:` + 8 hex digits of a GATEWAY_API_KEYS key's SHA-256, `client`, `open` (no keys configured) or `system` (notifications, sync, schedules)",
  })
  actor!: string | null;

  @Authorized('admin')
  @Field(() => JSONScalar, { nullable: true, description: 'The report as received from UMS (admin scope only)' })
  payload!: unknown;
}

@ObjectType({ description: 'A refund request against a payment' })
export class Refund {
  @Field(() => ID)
  refundOrderId!: string;

  @Field(() => ID)
  merOrderId!: string;

  @Field(() => Int, { description: 'fen (分)' })
  refundAmount!: number;

  @Field(() => String, { description: 'PROCESSING, SUCCESS, FAIL or UNKNOWN; PROCESSING and UNKNOWN stay pending until a refund query settles them' })
  status!: string;

  @Field(() => String, { nullable: true })
  refundTargetOrderId!: string | null;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => Int, { nullable: true, description: "Refunds of split payments: the platform's part, fen (分)" })
  platformAmount!: number | null;

  @Field(() => JSONScalar, { nullable: true, description: "Refunds of split payments: the sub-merchant's part, [{mid, totalAmount}]" })
  subOrders!: unknown;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;
}

@ObjectType({ description: 'One merchant order at UMS (merOrderId), as this gateway knows it' })
export class Payment {
  @Field(() => ID)
  merOrderId!: string;

  @Field(() => PaymentStatusEnum)
  status!: PaymentStatus;

  @Field(() => Int, { description: 'Grows by one with every applied change' })
  version!: number;

  @Field(() => PaymentChannelEnum, { nullable: true })
  channel!: PaymentChannel | null;

  @Field(() => Int, { description: 'fen (分)' })
  totalAmount!: number;

  @Field(() => ID, { description: 'The merchant (Merchant.id) the payment belongs to' })
  merchantId!: string;

  @Field(() => String)
  mid!: string;

  @Field(() => String)
  tid!: string;

  @Field(() => String, { nullable: true })
  targetOrderId!: string | null;

  @Field(() => String, { nullable: true })
  targetSys!: string | null;

  @Field(() => String, { nullable: true })
  seqId!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  payTime!: Date | null;

  @Field(() => String, { nullable: true })
  settleDate!: string | null;

  @Field(() => Int, { nullable: true })
  buyerPayAmount!: number | null;

  @Field(() => Int, { nullable: true })
  receiptAmount!: number | null;

  @Field(() => Int)
  refundedAmount!: number;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  expireTime!: Date | null;

  @Field(() => Boolean, { description: 'Something arrived that must not be applied silently; see reviewReason' })
  needsReview!: boolean;

  @UseMiddleware(HiddenFromClients)
  @Field(() => String, { nullable: true, description: 'Why it needs review (operators); null for a client secret' })
  reviewReason!: string | null;

  @Field(() => String, { nullable: true, description: 'Your attachedData, as sent to UMS (and echoed back in its notifications)' })
  attachedData!: string | null;

  @Field(() => String, { nullable: true, description: "UMS's srcReserve, as sent (and echoed back)" })
  srcReserve!: string | null;

  @Field(() => JSONScalar, { nullable: true, description: 'Your metadata, as given at creation (kept by the gateway only)' })
  metadata!: unknown;

  @Field(() => Boolean, { description: 'A guaranteed payment (担保, created with secureTransaction)' })
  secureTransaction!: boolean;

  @Field(() => String, { nullable: true, description: 'Guaranteed payments: UNCOMPLETED, PARTLY_COMPLETED, ALL_COMPLETED or CANCELED, as UMS last said' })
  secureStatus!: string | null;

  @Field(() => Int, { nullable: true, description: 'Guaranteed payments: fen (分) released to the merchant by completeSecurePayment' })
  completedAmount!: number | null;

  @Field(() => Boolean, { description: 'A split payment (分账)' })
  divisionFlag!: boolean;

  @Field(() => Int, { nullable: true, description: "Split payments: the platform's share, fen (分)" })
  platformAmount!: number | null;

  @Field(() => JSONScalar, { nullable: true, description: "Split payments: each sub-merchant's share, [{mid, totalAmount}]" })
  subOrders!: unknown;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;

  @Field(() => [PaymentEvent])
  events!: PaymentEvent[];

  @Field(() => [Refund])
  refunds!: Refund[];
}
