/** `paymentEvents`: the event feed, oldest first, resumable by cursor (src/events/feed.ts). */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { PaymentEventRow } from '../../db/schema.js';
import { decodeFeedCursor, encodeFeedCursor, positionOf, readFeed } from '../../events/feed.js';
import { merchantScope } from '../auth.js';
import type { GraphQLContext } from '../context.js';
import { PaymentEventConnection } from '../types/feed.js';

export const MAX_FEED_PAGE = 500;

const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

@Resolver()
export class PaymentEventQueries {
  @Authorized('read')
  @Query(() => PaymentEventConnection, {
    description:
      'Every applied change the caller may see, oldest first (commit order). Paging on with after never misses an event and never repeats one; an event shows once every transaction older than its own has ended',
  })
  async paymentEvents(
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: `1 to ${MAX_FEED_PAGE}` }) firstArg: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('merchantId', () => ID, { nullable: true }) merchantId: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<{ edges: { cursor: string; node: PaymentEventRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }> {
    const first = firstArg ?? 50;
    if (!Number.isInteger(first) || first < 1 || first > MAX_FEED_PAGE) throw badInput(`first must be between 1 and ${MAX_FEED_PAGE}`);
    const position = after == null ? undefined : decodeFeedCursor(after);
    if (after != null && !position) throw badInput('after is not a cursor of this feed');
    const scope = merchantScope(ctx.caller);
    // Another merchant's events read as none, exactly like a merchant with no events.
    if (scope !== undefined && merchantId != null && merchantId !== scope) return { edges: [], pageInfo: { hasNextPage: false, endCursor: after ?? null } };
    const only = scope ?? merchantId ?? undefined;
    const page = await readFeed(ctx.services.db, { first, ...(position ? { after: position } : {}), ...(only !== undefined ? { merchantId: only } : {}) });
    const edges = page.events.map((event) => ({ cursor: encodeFeedCursor(positionOf(event)), node: event }));
    // With nothing new, the end cursor stays where the reader is: it can poll with it.
    return { edges, pageInfo: { hasNextPage: page.hasMore, endCursor: edges.at(-1)?.cursor ?? after ?? null } };
  }
}
