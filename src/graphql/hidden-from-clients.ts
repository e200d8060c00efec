/**
 * A field a client secret (the buyer's browser) reads as null: operators' words about a payment
 * (why a change was applied or flagged, notes of a review, who acted) are not for the buyer, while
 * the payment itself is. A field-level check, so every way to reach the field (payment, events,
 * a subscription's payment) is covered at once.
 */
import type { MiddlewareFn } from 'type-graphql';
import type { GraphQLContext } from './context.js';

export const HiddenFromClients: MiddlewareFn<GraphQLContext> = async ({ context }, next) => {
  if (context.caller.kind === 'client') return null;
  return next();
};
