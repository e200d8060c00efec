/** `apiKeys`, `createApiKey`, `revokeApiKey`: run-time API keys (admin scope). */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { ApiKey, apiKeyOf, CreateApiKeyInput, CreatedApiKey, toScope } from '../types/api-key.js';

const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
const NO_MERCHANTS = 'merchants are not available yet';
/** A name is a label for people; a bound keeps the table and the listings small. */
const MAX_NAME_LENGTH = 200;

@Resolver()
export class ApiKeyResolver {
  @Authorized('admin')
  @Query(() => [ApiKey], { description: 'Admin: the API keys created at run time (not GATEWAY_API_KEYS), oldest first' })
  async apiKeys(@Arg('merchantId', () => ID, { nullable: true }) merchantId: string | null | undefined, @Ctx() ctx: GraphQLContext): Promise<ApiKey[]> {
    if (merchantId != null) throw badInput(NO_MERCHANTS);
    return (await ctx.services.apiKeys.store.list()).map(apiKeyOf);
  }

  @Authorized('admin')
  @Mutation(() => CreatedApiKey, { description: 'Admin: creates an API key; its text is in the answer and nowhere else' })
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    if (input.merchantId != null) throw badInput(NO_MERCHANTS);
    if (input.scopes.length === 0) throw badInput('scopes must name at least one scope');
    if (input.name != null && input.name.length > MAX_NAME_LENGTH) throw badInput(`name must be at most ${MAX_NAME_LENGTH} characters`);
    if (input.expiresAt != null && input.expiresAt.getTime() <= Date.now()) throw badInput('expiresAt must be in the future');
    const { store, cache } = ctx.services.apiKeys;
    const { row, text } = await store.create({ name: input.name ?? null, scopes: input.scopes.map(toScope), expiresAt: input.expiresAt ?? null });
    // This instance knows at once; the others on the notification.
    await cache.reload();
    ctx.services.log.info({ keyId: row.id, scopes: row.scopes }, 'API key created');
    return { apiKey: apiKeyOf(row), key: text };
  }

  @Authorized('admin')
  @Mutation(() => ApiKey, { description: 'Admin: revokes an API key on every instance within seconds (again: no change)' })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKey> {
    const { store, cache } = ctx.services.apiKeys;
    const row = await store.revoke(id);
    if (!row) throw new GraphQLError('No API key has this id', { extensions: { code: 'NOT_FOUND' } });
    await cache.reload();
    ctx.services.log.info({ keyId: row.id }, 'API key revoked');
    return apiKeyOf(row);
  }
}
