/** `notifications` (admin): the log of what reached POST /notify/ums, newest first. */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { merchantScope } from '../auth.js';
import type { GraphQLContext } from '../context.js';
import { InvalidNotificationCursor, listNotifications, NOTIFICATION_OUTCOMES } from '../notification-reads.js';
import { NotificationConnection } from '../types/operator.js';

const MAX_PAGE = 100;
const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

@Resolver()
export class NotificationResolver {
  @Authorized('admin')
  @Query(() => NotificationConnection, { description: 'Admin: notifications received, newest first; buyer identifiers masked' })
  async notifications(
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: `1 to ${MAX_PAGE}` }) firstArg: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('outcome', () => String, { nullable: true, description: 'APPLIED, DUPLICATE, STALE, FLAGGED or REJECTED' }) outcome: string | null | undefined,
    @Arg('merOrderId', () => ID, { nullable: true }) merOrderId: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<NotificationConnection> {
    const first = firstArg ?? 20;
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw badInput(`first must be between 1 and ${MAX_PAGE}`);
    if (outcome != null && !Object.hasOwn(NOTIFICATION_OUTCOMES, outcome)) throw badInput(`outcome must be one of ${Object.keys(NOTIFICATION_OUTCOMES).join(', ')}`);
    if (after != null && after.length > 64) throw badInput('`after` is not a cursor this API handed out');
    if (merOrderId != null && merOrderId.length > 64) throw badInput('merOrderId is at most 64 characters');
    try {
      const page = await listNotifications(ctx.services.db, {
        first,
        after: after ?? undefined,
        outcome: outcome ?? undefined,
        merOrderId: merOrderId ?? undefined,
        merchantId: merchantScope(ctx.caller),
      });
      return {
        edges: page.rows.map(({ cursor, node }) => ({ cursor, node })),
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.rows.at(-1)?.cursor ?? null },
      };
    } catch (err) {
      if (err instanceof InvalidNotificationCursor) throw badInput(err.message);
      throw err;
    }
  }
}
