/**
 * `merchants`, `merchant`, `createMerchant`, `updateMerchant` (CONTRACT.md "Merchants"): the
 * whole gateway's admin only (an admin key not bound to a merchant). Checks and storage are the
 * merchants room's (src/merchants/admin.ts); this file maps its errors to GraphQL codes.
 */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { MerchantAdminError, type MerchantAdmin, type MerchantView } from '../../merchants/admin.js';
import { forbidden, merchantScope } from '../auth.js';
import type { GraphQLContext } from '../context.js';
import { Merchant, MerchantInput } from '../types/merchant.js';

/** A merchant-bound key, even an admin one, administers its merchant, not the gateway's merchants. */
function gatewayAdmin(ctx: GraphQLContext): MerchantAdmin {
  if (merchantScope(ctx.caller) !== undefined) throw forbidden(['admin']);
  const admin = ctx.services.merchants;
  if (!admin) throw new GraphQLError('merchants are not available on this gateway', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  return admin;
}

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MerchantAdminError) {
      throw new GraphQLError(err.message, { extensions: { code: err.code, ...(err.field ? { field: err.field } : {}) } });
    }
    throw err;
  }
}

@Resolver()
export class MerchantResolver {
  @Authorized('admin')
  @Query(() => [Merchant], { description: 'Gateway admin: every merchant, `default` (the UMS_* environment) first' })
  merchants(@Ctx() ctx: GraphQLContext): Promise<MerchantView[]> {
    const admin = gatewayAdmin(ctx);
    return answer(() => admin.list());
  }

  @Authorized('admin')
  @Query(() => Merchant, { nullable: true, description: 'Gateway admin: one merchant, or null' })
  async merchant(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<MerchantView | null> {
    const admin = gatewayAdmin(ctx);
    return (await answer(() => admin.get(id))) ?? null;
  }

  @Authorized('admin')
  @Mutation(() => Merchant, { description: 'Gateway admin: stores a new merchant (secrets encrypted with GATEWAY_SECRET_KEY)' })
  createMerchant(@Arg('input', () => MerchantInput) input: MerchantInput, @Ctx() ctx: GraphQLContext): Promise<MerchantView> {
    const admin = gatewayAdmin(ctx);
    return answer(() => admin.create(input));
  }

  @Authorized('admin')
  @Mutation(() => Merchant, { description: 'Gateway admin: replaces a merchant’s profile (input.id must be `id`); `default` cannot be changed here' })
  updateMerchant(@Arg('id', () => ID) id: string, @Arg('input', () => MerchantInput) input: MerchantInput, @Ctx() ctx: GraphQLContext): Promise<MerchantView> {
    const admin = gatewayAdmin(ctx);
    return answer(() => admin.update(id, input));
  }
}
