/**
 * `apiKeys`, `createApiKey`, `revokeApiKey`: run-time API keys (admin scope).
 *
 * A gateway-wide admin manages every key: it creates gateway-wide keys (no `merchantId`) or keys
 * bound to a merchant that exists, and lists every key or one merchant's. A merchant-bound
 * admin manages its own merchant's keys only: `merchantId` left out means its own, another
 * merchant's reads as one that does not exist (NOT_FOUND on create and revoke, an empty list).
 */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { merchantExists } from '../../access/merchant-exists.js';
import type { KeyOwner } from '../../access/key-store.js';
import { actorOf, merchantScope } from '../auth.js';
import type { GraphQLContext } from '../context.js';
import { ApiKey, apiKeyOf, CreateApiKeyInput, CreatedApiKey, toScope } from '../types/api-key.js';

const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
const noMerchant = (id: string) => new GraphQLError(`No merchant has the id ${id}`, { extensions: { code: 'NOT_FOUND' } });
/** A name is a label for people; a bound keeps the table and the listings small. */
const MAX_NAME_LENGTH = 200;

@Resolver()
export class ApiKeyResolver {
  @Authorized('admin')
  @Query(() => [ApiKey], {
    description:
      "Admin: the API keys created at run time (not GATEWAY_API_KEYS), oldest first: one merchant's (a merchant admin: its own), or every key (a gateway-wide admin, merchantId left out)",
  })
  async apiKeys(@Arg('merchantId', () => ID, { nullable: true }) merchantId: string | null | undefined, @Ctx() ctx: GraphQLContext): Promise<ApiKey[]> {
    const own = merchantScope(ctx.caller);
    let owner: KeyOwner;
    if (own === undefined) owner = merchantId == null ? 'any' : { merchantId };
    // Another merchant's keys are none of this caller's: an empty list, as for a merchant with none.
    else if (merchantId != null && merchantId !== own) return [];
    else owner = { merchantId: own };
    return (await ctx.services.apiKeys.store.list(owner)).map(apiKeyOf);
  }

  @Authorized('admin')
  @Mutation(() => CreatedApiKey, { description: 'Admin: creates an API key; its text is in the answer and nowhere else' })
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    if (input.scopes.length === 0) throw badInput('scopes must name at least one scope');
    if (input.name != null && input.name.length > MAX_NAME_LENGTH) throw badInput(`name must be at most ${MAX_NAME_LENGTH} characters`);
    if (input.expiresAt != null && input.expiresAt.getTime() <= Date.now()) throw badInput('expiresAt must be in the future');
    const merchantId = await this.#merchantOfNewKey(input.merchantId ?? undefined, ctx);
    const { store, cache } = ctx.services.apiKeys;
    const { row, text } = await store.create({ name: input.name ?? null, scopes: input.scopes.map(toScope), expiresAt: input.expiresAt ?? null, merchantId });
    // This instance knows at once; the others on the notification.
    await cache.reload();
    ctx.services.log.info({ keyId: row.id, scopes: row.scopes, merchantId: row.merchantId, actor: actorOf(ctx.caller) }, 'API key created');
    return { apiKey: apiKeyOf(row), key: text };
  }

  @Authorized('admin')
  @Mutation(() => ApiKey, { description: 'Admin: revokes an API key on every instance within seconds (again: no change)' })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKey> {
    const { store, cache } = ctx.services.apiKeys;
    const own = merchantScope(ctx.caller);
    const row = await store.revoke(id, own === undefined ? 'any' : { merchantId: own });
    if (!row) throw new GraphQLError('No API key has this id', { extensions: { code: 'NOT_FOUND' } });
    await cache.reload();
    ctx.services.log.info({ keyId: row.id, actor: actorOf(ctx.caller) }, 'API key revoked');
    return apiKeyOf(row);
  }

  /** The merchant a new key is bound to (null: gateway-wide), as the caller may ask for it. */
  async #merchantOfNewKey(requested: string | undefined, ctx: GraphQLContext): Promise<string | null> {
    const own = merchantScope(ctx.caller);
    if (own !== undefined) {
      // A merchant admin binds keys to its own merchant; another merchant is as if it did not exist.
      if (requested !== undefined && requested !== own) throw noMerchant(requested);
      return own;
    }
    if (requested === undefined) return null;
    if (!(await merchantExists(ctx.services.db, requested))) throw noMerchant(requested);
    return requested;
  }
}
