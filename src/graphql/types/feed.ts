/** The event feed's connection (CONTRACT.md "Event feed (resumable)"). */
import { Field, ObjectType } from 'type-graphql';
import { PageInfo } from './connection.js';
import { PaymentEvent } from './payment.js';

@ObjectType()
export class PaymentEventEdge {
  @Field(() => String, { description: 'Opaque; pass as `after` (paymentEvents, paymentStatusChanged) to resume after this event' })
  cursor!: string;

  @Field(() => PaymentEvent)
  node!: PaymentEvent;
}

@ObjectType()
export class PaymentEventConnection {
  @Field(() => [PaymentEventEdge])
  edges!: PaymentEventEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
