/**
 * The mutations: thin adapters onto payments/commands, which own every rule. The resolvers only
 * pass along who acts (the caller's actor and merchant: another merchant's payment is NOT_FOUND,
 * the events record the actor) and the Idempotency-Key, and turn GraphQL's nulls (an omitted
 * nullable input field) into absent fields.
 */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { PaymentRow, RefundRow } from '../../db/schema.js';
import { merchantExists } from '../../access/merchant-exists.js';
import { definedFields } from '../../lib/objects.js';
import type { CommandOptions } from '../../payments/commands-api.js';
import { actorOf, merchantScope } from '../auth.js';
import type { GraphQLContext } from '../context.js';
import { CreatePaymentInput, CreatePaymentPayload, RefundPaymentInput } from '../types/inputs.js';
import { Payment, Refund } from '../types/payment.js';

/**
 * The merchant a createPayment is for. A merchant-bound key creates for its own merchant only:
 * naming another is answered NOT_FOUND, exactly as naming one that does not exist. A gateway-wide
 * key may name any merchant that exists (left out: `default`, the column's default).
 */
async function merchantToCreateFor(ctx: GraphQLContext, requested: string | undefined): Promise<string | undefined> {
  const own = merchantScope(ctx.caller);
  if (requested === undefined || requested === own) return own;
  if (own !== undefined || !(await merchantExists(ctx.services.db, requested))) {
    throw new GraphQLError(`No merchant has the id ${requested}`, { extensions: { code: 'NOT_FOUND' } });
  }
  return requested;
}

/** Printable ASCII, as Stripe and the IETF draft allow; long enough for a UUID or a hash. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Who acts, for the commands: the events' actor and the caller's merchant (undefined: gateway-wide). */
export function acting(ctx: GraphQLContext): CommandOptions {
  const merchantId = merchantScope(ctx.caller);
  return { actor: actorOf(ctx.caller), ...(merchantId === undefined ? {} : { merchantId }) };
}

function idempotencyKey(ctx: GraphQLContext): CommandOptions {
  const key = ctx.idempotencyKey;
  if (key === undefined) return acting(ctx);
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new GraphQLError('Idempotency-Key must be 1 to 255 printable ASCII characters', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return { ...acting(ctx), idempotencyKey: key };
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
  ): Promise<{ payment: PaymentRow; clientSecret: string; payParams?: unknown; qrCode?: string; payUrl?: string }> {
    const { merchantId: requested, ...fields } = input;
    const merchantId = await merchantToCreateFor(ctx, requested ?? undefined);
    const opts = { ...idempotencyKey(ctx), ...(merchantId === undefined ? {} : { merchantId }) };
    const result = await ctx.services.commands.create(definedFields({ ...fields }), opts);
    // Derived, not stored: a replay under the same Idempotency-Key answers the same secret.
    return { ...result, clientSecret: ctx.services.clientSecrets.issue(result.payment.merchantId, result.payment.merOrderId) };
  }

  @Authorized('pay')
  @Mutation(() => Payment, { description: 'Asks UMS about the order now, and stores what it says' })
  syncPayment(@Arg('merOrderId', () => ID) merOrderId: string, @Ctx() ctx: GraphQLContext): Promise<PaymentRow> {
    return ctx.services.commands.sync(merOrderId, acting(ctx));
  }

  @Authorized('pay')
  @Mutation(() => Payment, { description: 'Closes an unpaid order at UMS' })
  closePayment(@Arg('merOrderId', () => ID) merOrderId: string, @Ctx() ctx: GraphQLContext): Promise<PaymentRow> {
    return ctx.services.commands.close(merOrderId, acting(ctx));
  }

  @Authorized('refund')
  @Mutation(() => Refund, {
    description: 'Refunds part or all of a paid order; honours Idempotency-Key. PROCESSING/UNKNOWN stay pending until a refund query settles them.',
  })
  refundPayment(@Arg('input', () => RefundPaymentInput) input: RefundPaymentInput, @Ctx() ctx: GraphQLContext): Promise<RefundRow> {
    return ctx.services.commands.refund(definedFields({ ...input }), idempotencyKey(ctx));
  }
}
