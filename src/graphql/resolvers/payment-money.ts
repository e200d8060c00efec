/**
 * Fields of `Payment` computed from what is stored (CONTRACT.md "Protocol completeness"): the last
 * applied notification, typed, for admins; and plainly whether money was received and how much of
 * it may still be refunded, so a frontend need not know that TRADE_REFUND and a refunded
 * TRADE_CLOSED also mean "was paid".
 */
import { Authorized, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { PaymentRow, RefundRow } from '../../db/schema.js';
import { notificationJson } from '../../ums/notification-fields.js';
import type { GraphQLContext } from '../context.js';
import { Payment } from '../types/payment.js';
import { JSONScalar } from '../types/scalars.js';

/** Statuses that say the buyer paid (a refund happens only to a paid order). */
const PAID_STATUSES = new Set(['TRADE_SUCCESS', 'TRADE_REFUND']);

/** Fen the buyer paid that the merchant holds or held: 0 until paid. */
export function paidAmountOf(
  payment: Pick<PaymentRow, 'status' | 'payTime' | 'refundedAmount' | 'totalAmount' | 'secureTransaction' | 'secureStatus' | 'completedAmount'>,
): number {
  // A guaranteed payment: what was completed is the merchant's, a cancelled one went back whole.
  if (payment.secureTransaction && payment.secureStatus === 'CANCELED') return 0;
  if (payment.secureTransaction && payment.completedAmount !== null) return payment.completedAmount;
  const paid = PAID_STATUSES.has(payment.status) || payment.payTime !== null || payment.refundedAmount > 0;
  return paid ? payment.totalAmount : 0;
}

/** Fen a refund may still take: paid, less what was refunded and what refunds still in doubt hold. */
export function refundableAmountOf(payment: PaymentRow, refunds: readonly RefundRow[]): number {
  // A refund not yet counted and not failed (PROCESSING, UNKNOWN) may still take its amount.
  // A guaranteed payment not completed yet cannot be refunded (complete or cancel it first).
  if (payment.secureTransaction && payment.completedAmount === null) return 0;
  const held = refunds.reduce((sum, r) => (r.countedAt === null && r.status !== 'FAIL' && r.status !== 'SUCCESS' ? sum + r.refundAmount : sum), 0);
  return Math.max(0, paidAmountOf(payment) - payment.refundedAmount - held);
}

@Resolver(() => Payment)
export class PaymentMoneyFields {
  @FieldResolver(() => Int, { description: 'fen (分) received from the buyer: totalAmount once paid (also after refunds), else 0' })
  paidAmount(@Root() payment: PaymentRow): number {
    return paidAmountOf(payment);
  }

  @FieldResolver(() => Int, { description: 'fen (分) that may still be refunded: paidAmount less refunds done or in progress' })
  async refundableAmount(@Root() payment: PaymentRow, @Ctx() ctx: GraphQLContext): Promise<number> {
    return refundableAmountOf(payment, await ctx.loaders.refunds.load(payment.merOrderId));
  }

  @Authorized('admin')
  @FieldResolver(() => JSONScalar, {
    nullable: true,
    description:
      'Every field of the last applied UMS notification (admin scope only): amounts in fen as numbers, times in ISO 8601 at +08:00 (Beijing, as UMS writes them), other text verbatim, buyer identifiers masked',
  })
  async notification(@Root() payment: PaymentRow, @Ctx() ctx: GraphQLContext): Promise<Record<string, string | number> | null> {
    const events = await ctx.loaders.events.load(payment.merOrderId);
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i]!;
      // The ledger stores a notification's signed fields, buyer identifiers masked, as its event's
      // payload (the batched path links the notification row to the event, not the other way).
      if (event.source === 'NOTIFY' && isFieldSet(event.payload)) return notificationJson(event.payload);
    }
    return null;
  }
}

function isFieldSet(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}
