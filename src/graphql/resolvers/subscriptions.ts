/**
 * `paymentStatusChanged`: the current state first (when merOrderId is given), then every change
 * this instance's bus hears, from whichever instance stored it. Only the payments the caller may
 * see (src/access/visibility.ts), "watch everything" included: a merchant's key never hears of
 * another merchant's payment; a client secret subscribes to its own payment, by its merOrderId.
 */
import { sees } from '../../access/visibility.js';
import { CLIENT_ROLE, forbiddenToClients, visibilityOf } from '../auth.js';
import { Arg, Authorized, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { changeStream, type StatusChangeValue } from '../change-stream.js';
import type { GraphQLContext } from '../context.js';
import { PaymentStatusChange } from '../types/inputs.js';
import { errorSummary } from '../../lib/errors.js';

interface Filter {
  merOrderId?: string | null;
  mid?: string | null;
}

function subscribe({ args, context }: SubscribeResolverData<unknown, Filter, GraphQLContext>): AsyncIterable<StatusChangeValue> {
  const { reads, bus, metrics, log } = context.services;
  const merOrderId = args.merOrderId ?? undefined;
  const mid = args.mid ?? undefined;
  // A client secret watches its one payment, named: not a stream of everything it may see.
  if (context.caller.kind === 'client' && merOrderId === undefined) throw forbiddenToClients();
  const view = visibilityOf(context.caller);
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
    description: "First the payment's current state (when merOrderId is given), then every change",
  })
  paymentStatusChanged(
    @Root() change: StatusChangeValue,
    @Arg('merOrderId', () => ID, { nullable: true }) _merOrderId: string | null,
    @Arg('mid', () => String, { nullable: true }) _mid: string | null,
  ): StatusChangeValue {
    return change;
  }
}
