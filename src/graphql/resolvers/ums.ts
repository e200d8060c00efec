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
    @Arg('dataTag', () => Boolean, {
      nullable: true,
      defaultValue: false,
      description: 'Wrap the body as {"data": {...}} (the UMS SDKs\' needDataTag) for this call; the client\'s UMS_DATA_TAG applies too',
    })
    dataTag: boolean | null,
  ): Promise<unknown> {
    // UMS answers about any order of any merchant: not for a key bound to one.
    assertGatewayAdmin(ctx.caller);
    // false (the default) leaves the client's UMS_DATA_TAG in charge; true wraps this call.
    return ctx.services.commands.callUms(service, version ?? 'v1', body, dataTag === true ? true : undefined);

  }
}
