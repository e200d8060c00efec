/** Cursor pagination (Relay connection shape) of `payments`. */
import { Field, ObjectType } from 'type-graphql';
import { Payment } from './payment.js';

@ObjectType()
export class PaymentEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Payment)
  node!: Payment;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class PaymentConnection {
  @Field(() => [PaymentEdge])
  edges!: PaymentEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
