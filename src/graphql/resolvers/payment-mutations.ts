/**
 * The mutations: thin adapters onto payments/commands, which own every rule. The resolvers only
 * pass the caller's Idempotency-Key along and turn GraphQL's nulls (an omitted nullable input
 * field) into absent fields.
 */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { PaymentRow, RefundRow } from '../../db/schema.js';
import { definedFields } from '../../lib/objects.js';
import type { GraphQLContext } from '../context.js';
import { CreatePaymentInput, CreatePaymentPayload, RefundPaymentInput } from '../types/inputs.js';
import { Payment, Refund } from '../types/payment.js';

/** Printable ASCII, as Stripe and the IETF draft allow; long enough for a UUID or a hash. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function idempotencyKey(ctx: GraphQLContext): { idempotencyKey?: string } {
  const key = ctx.idempotencyKey;
  if (key === undefined) return {};
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new GraphQLError('Idempotency-Key must be 1 to 255 printable ASCII characters', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return { idempotencyKey: key };
}

@Resolver()
export class PaymentMutations {
  @Authorized('pay')
  @Mutation(() => CreatePaymentPayload, {
    description: 'Stores the order (NEW_ORDER), then asks UMS; honours Idempotency-Key. A timeout leaves it UNKNOWN, not failed.',
  })
  async createPayment(
    @Arg('input', () => CreatePaymentInput) input: CreatePaymentInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<{ payment: PaymentRow; payParams?: unknown; qrCode?: string; payUrl?: string }> {
    return ctx.services.commands.create(definedFields({ ...input }), idempotencyKey(ctx));
  }

  @Authorized('pay')
  @Mutation(() => Payment, { description: 'Asks UMS about the order now, and stores what it says' })
  syncPayment(@Arg('merOrderId', () => ID) merOrderId: string, @Ctx() ctx: GraphQLContext): Promise<PaymentRow> {
    return ctx.services.commands.sync(merOrderId);
  }

  @Authorized('pay')
  @Mutation(() => Payment, { description: 'Closes an unpaid order at UMS' })
  closePayment(@Arg('merOrderId', () => ID) merOrderId: string, @Ctx() ctx: GraphQLContext): Promise<PaymentRow> {
    return ctx.services.commands.close(merOrderId);
  }

  @Authorized('refund')
  @Mutation(() => Refund, {
    description: 'Refunds part or all of a paid order; honours Idempotency-Key. PROCESSING/UNKNOWN stay pending until a refund query settles them.',
  })
  refundPayment(@Arg('input', () => RefundPaymentInput) input: RefundPaymentInput, @Ctx() ctx: GraphQLContext): Promise<RefundRow> {
    return ctx.services.commands.refund(definedFields({ ...input }), idempotencyKey(ctx));
  }
}
