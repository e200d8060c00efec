/**
 * `payment` and `payments`, the batched `Payment.events` / `Payment.refunds`, and
 * `Payment.clientSecret`. What the caller may see is decided by the read side (data.ts), from
 * the caller's visibility: another merchant's payment is simply not there.
 */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import type { PaymentEventRow, PaymentRow, RefundRow } from '../../db/schema.js';
import { CLIENT_ROLE, holds, visibilityOf } from '../auth.js';
import type { GraphQLContext } from '../context.js';
import { InvalidCursorError } from '../data.js';
import { PaymentStatusEnum, type PaymentStatus } from '../types/enums.js';
import { PaymentConnection } from '../types/connection.js';
import { Payment, PaymentEvent, Refund } from '../types/payment.js';

export const MAX_PAGE_SIZE = 100;

const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

@Resolver(() => Payment)
export class PaymentQueries {
  @Authorized('read', CLIENT_ROLE)
  @Query(() => Payment, {
    nullable: true,
    description: "One payment by its merchant order id (null when there is none, or it is another merchant's; a client secret reads only its own)",
  })
  async payment(@Arg('merOrderId', () => ID) merOrderId: string, @Ctx() ctx: GraphQLContext): Promise<PaymentRow | null> {
    return (await ctx.services.reads.findPayment(merOrderId, visibilityOf(ctx.caller))) ?? null;
  }

  @Authorized('read')
  @Query(() => PaymentConnection, { description: 'Payments, newest first' })
  async payments(
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: `1 to ${MAX_PAGE_SIZE}` }) firstArg: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('status', () => PaymentStatusEnum, { nullable: true }) status: PaymentStatus | null | undefined,
    @Arg('mid', () => String, { nullable: true }) mid: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
    @Arg('needsReview', () => Boolean, { nullable: true, description: 'true: the review queue (payments flagged for an operator); false: the others' })
    needsReview?: boolean | null,
    @Arg('merchantId', () => ID, { nullable: true, description: 'Only this merchant’s payments' }) merchantId?: string | null,
  ): Promise<{ edges: { cursor: string; node: PaymentRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }> {
    const first = firstArg ?? 20;
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`);
    try {
      const page = await ctx.services.reads.listPayments({ view: visibilityOf(ctx.caller), first, after: after ?? undefined, status: status ?? undefined, mid: mid ?? undefined, needsReview: needsReview ?? undefined, merchantId: merchantId ?? undefined });
      const edges = page.rows.map(({ payment, cursor }) => ({ cursor, node: payment }));
      return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
    } catch (err) {
      if (err instanceof InvalidCursorError) throw badInput(err.message);
      throw err;
    }
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'What the frontend holds instead of a key (Authorization: Bearer <clientSecret>): reads and watches this one payment. ' +
      "Readable with PAY by the payment's merchant's keys and gateway-wide keys; null for others",
  })
  clientSecret(@Root() payment: PaymentRow, @Ctx() ctx: GraphQLContext): string | null {
    // The payment is visible to the caller (the read side saw to it): its merchant's, or every one.
    return holds(ctx.caller, 'pay') ? ctx.services.clientSecrets.issue(payment.merchantId, payment.merOrderId) : null;
  }

  @FieldResolver(() => [PaymentEvent], { description: 'Applied changes, oldest first' })
  events(@Root() payment: PaymentRow, @Ctx() ctx: GraphQLContext): Promise<PaymentEventRow[]> {
    return ctx.loaders.events.load(payment.merOrderId);
  }

  @FieldResolver(() => [Refund], { description: 'Refund requests, oldest first' })
  refunds(@Root() payment: PaymentRow, @Ctx() ctx: GraphQLContext): Promise<RefundRow[]> {
    return ctx.loaders.refunds.load(payment.merOrderId);
  }
}
