/** `callUms`: any UMS Open API call, signed by the gateway (admin scope). */
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { JSONScalar } from '../types/scalars.js';

@Resolver()
export class UmsResolver {
  @Authorized('admin')
  @Mutation(() => JSONScalar, { description: 'Admin: calls any UMS Open API service (e.g. netpay/query), signed; answers its JSON' })
  callUms(
    @Arg('service', () => String) service: string,
    @Arg('version', () => String, { nullable: true, defaultValue: 'v1' }) version: string | null,
    @Arg('body', () => JSONScalar) body: unknown,
    @Ctx() ctx: GraphQLContext,
  ): Promise<unknown> {
    return ctx.services.commands.callUms(service, version ?? 'v1', body);
  }
}
