/** Guaranteed payments (担保): complete (whole or part) and cancel; PAY scope, idempotent. */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Int, Mutation, Resolver } from 'type-graphql';
import type { PaymentRow } from '../../db/schema.js';
import type { GraphQLContext } from '../context.js';
import { Payment } from '../types/payment.js';

function unsupported(): never {
  throw new GraphQLError('guaranteed payments are not available here', { extensions: { code: 'BAD_USER_INPUT' } });
}

@Resolver()
export class SecurePaymentMutations {
  @Authorized('pay')
  @Mutation(() => Payment, {
    description:
      '担保 complete (secure-complete): releases the whole payment, or `amount` fen of it, to the merchant; the rest goes back to the buyer. Completing again with the same amount answers the same payment.',
  })
  completeSecurePayment(
    @Arg('merOrderId', () => ID) merOrderId: string,
    @Arg('amount', () => Int, { nullable: true, description: 'fen (分); the whole payment when left out' }) amount: number | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PaymentRow> {
    const complete = ctx.services.commands.completeSecure?.bind(ctx.services.commands) ?? unsupported();
    return complete(merOrderId, amount ?? undefined);
  }

  @Authorized('pay')
  @Mutation(() => Payment, {
    description: '担保 cancel (secure-cancel): gives everything back to the buyer and closes the payment. Cancelling again answers the same payment.',
  })
  cancelSecurePayment(@Arg('merOrderId', () => ID) merOrderId: string, @Ctx() ctx: GraphQLContext): Promise<PaymentRow> {
    const cancel = ctx.services.commands.cancelSecure?.bind(ctx.services.commands) ?? unsupported();
    return cancel(merOrderId);
  }
}
