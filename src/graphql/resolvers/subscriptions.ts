/**
 * `paymentStatusChanged`: the current state first (when merOrderId is given), then every change
 * this instance's bus hears, from whichever instance stored it. Only the payments the caller may
 * see (src/access/visibility.ts), "watch everything" included: a merchant's key never hears of
 * another merchant's payment; a client secret subscribes to its own payment, by its merOrderId.
 */
import { sees } from '../../access/visibility.js';
import { CLIENT_ROLE, forbiddenToClients, merchantScope, visibilityOf } from '../auth.js';
import { Arg, Authorized, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { changeStream, type StatusChangeValue } from '../change-stream.js';
import type { GraphQLContext } from '../context.js';
import { PaymentStatusChange } from '../types/inputs.js';
import { GraphQLError } from 'graphql';
import { errorSummary } from '../../lib/errors.js';
import { feedStream } from '../feed-stream.js';
import { decodeFeedCursor, encodeFeedCursor, FEED_START, positionOf } from '../../events/feed.js';

interface Filter {
  merOrderId?: string | null;
  mid?: string | null;
  after?: string | null;
}

function subscribe({ args, context }: SubscribeResolverData<unknown, Filter, GraphQLContext>): AsyncIterable<StatusChangeValue> {
  const { reads, bus, metrics, log, db } = context.services;
  const merOrderId = args.merOrderId ?? undefined;
  const mid = args.mid ?? undefined;
  // A client secret watches its one payment, named: not a stream of everything it may see.
  if (context.caller.kind === 'client' && merOrderId === undefined) throw forbiddenToClients();
  const view = visibilityOf(context.caller);
  // A client secret's replay is of its own payment only (another one's stream stays empty, below).
  const replayable = context.caller.kind !== 'client' || merOrderId === context.caller.merOrderId;
  if (args.after != null && replayable) {
    const after = decodeFeedCursor(args.after);
    if (!after) throw new GraphQLError('after is not a cursor of this feed', { extensions: { code: 'BAD_USER_INPUT' } });
    const merchantId = merchantScope(context.caller);
    // Replay and live from one ordered read of the feed (feed-stream.ts): no "current state" first.
    return feedStream({
      db,
      bus,
      after,
      ...(merOrderId !== undefined ? { merOrderId } : {}),
      ...(mid !== undefined ? { mid } : {}),
      ...(merchantId !== undefined ? { merchantId } : {}),
      findPayment: (id) => reads.findPayment(id, view),
      onError: (err) => log.error({ err: errorSummary(err) }, 'could not read the event feed for a subscription'),
      onOpen: () => metrics.subscriptionsOpen.inc(),
      onClose: () => metrics.subscriptionsOpen.dec(),
    });
  }
  return changeStream({
    bus,
    accept: ({ event, payment }) =>
      (merOrderId === undefined || event.merOrderId === merOrderId) && (mid === undefined || payment.mid === mid) && sees(view, payment),
    initial:
      merOrderId === undefined
        ? undefined
        : async () => {
            const payment = await reads.findPayment(merOrderId, view);
            if (!payment || (mid !== undefined && payment.mid !== mid)) return undefined;
            const last = await reads.latestEvent(merOrderId);
            return {
              payment,
              version: payment.version,
              previousStatus: last?.version === payment.version ? last.previousStatus : null,
              status: payment.status,
              source: last?.source ?? 'MUTATION',
              at: last?.version === payment.version ? last.at : payment.updatedAt,
              cursor: encodeFeedCursor(last ? positionOf(last) : FEED_START),
            };
          },
    // The subscriber is told only that the read failed; the cause (a driver error) goes to the log.
    onInitialError: (err) => log.error({ err: errorSummary(err), merOrderId }, 'could not read the current state of a payment for a subscription'),
    onOpen: () => metrics.subscriptionsOpen.inc(),
    onClose: () => metrics.subscriptionsOpen.dec(),
  });
}

@Resolver()
export class PaymentSubscriptions {
  @Authorized('read', CLIENT_ROLE)
  @Subscription(() => PaymentStatusChange, {
    subscribe,
    description:
      "First the payment's current state (when merOrderId is given), then every change. With after (a cursor: PaymentStatusChange.cursor, PaymentEventEdge.cursor): no current state; what came after the cursor, then every change, with no gap and no duplicate",
  })
  paymentStatusChanged(
    @Root() change: StatusChangeValue,
    @Arg('merOrderId', () => ID, { nullable: true }) _merOrderId: string | null,
    @Arg('mid', () => String, { nullable: true }) _mid: string | null,
    @Arg('after', () => String, { nullable: true }) _after: string | null,
  ): StatusChangeValue {
    return change;
  }
}
