/** `callUms`: any UMS Open API call, signed by the gateway (a gateway-wide admin only). */
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import { assertGatewayAdmin } from '../auth.js';
import type { GraphQLContext } from '../context.js';
import { JSONScalar } from '../types/scalars.js';

@Resolver()
export class UmsResolver {
  @Authorized('admin')
  @Mutation(() => JSONScalar, { description: 'Gateway-wide admin: calls any UMS Open API service (e.g. netpay/query), signed; answers its JSON' })
  callUms(
    @Arg('service', () => String) service: string,
    @Arg('version', () => String, { nullable: true, defaultValue: 'v1' }) version: string | null,
    @Arg('body', () => JSONScalar) body: unknown,
    @Ctx() ctx: GraphQLContext,
  ): Promise<unknown> {
    // UMS answers about any order of any merchant: not for a key bound to one.
    assertGatewayAdmin(ctx.caller);
    return ctx.services.commands.callUms(service, version ?? 'v1', body);
  }
}
