/** `simulatePayment`: in the schema only in simulator mode (no UMS_BASE_URL). */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { PaymentRow } from '../../db/schema.js';
import type { GraphQLContext } from '../context.js';
import { PaymentStatusEnum, type PaymentStatus } from '../types/enums.js';
import { Payment } from '../types/payment.js';
import { acting } from './payment-mutations.js';

@Resolver()
export class SimulatorResolver {
  @Authorized('pay')
  @Mutation(() => Payment, {
    description: 'Simulator mode only: the buyer pays (TRADE_SUCCESS) or the order closes (TRADE_CLOSED); the simulator then notifies as UMS would',
  })
  async simulatePayment(
    @Arg('merOrderId', () => ID) merOrderId: string,
    @Arg('outcome', () => PaymentStatusEnum, { nullable: true, defaultValue: 'TRADE_SUCCESS' }) outcomeArg: PaymentStatus | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PaymentRow> {
    const outcome = outcomeArg ?? 'TRADE_SUCCESS';
    if (outcome !== 'TRADE_SUCCESS' && outcome !== 'TRADE_CLOSED') {
      throw new GraphQLError('outcome must be TRADE_SUCCESS or TRADE_CLOSED', { extensions: { code: 'BAD_USER_INPUT' } });
    }
    const simulate = ctx.services.commands.simulatePayment;
    if (!simulate) throw new GraphQLError('simulatePayment needs simulator mode', { extensions: { code: 'BAD_REQUEST' } });
    return simulate.call(ctx.services.commands, merOrderId, outcome, acting(ctx));
  }
}
