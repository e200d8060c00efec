/**
 * The operator's types (CONTRACT.md "Operator workflows"): review resolutions, reconciliation
 * runs and their items, and the notification log. Resolvers hand over plain objects built from
 * the rows (resolvers/operator.ts, resolvers/notifications.ts).
 */
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RECONCILIATION_KINDS, type ReconciliationKind } from '../../payments/reconcile/classify.js';
import { REVIEW_RESOLUTIONS, type ReviewResolution } from '../../payments/ledger.js';
import { PageInfo } from './connection.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

function enumObject<T extends string>(values: readonly T[]): { readonly [K in T]: K } {
  return Object.fromEntries(values.map((v) => [v, v])) as { readonly [K in T]: K };
}

export const ReviewResolutionEnum = enumObject<ReviewResolution>(REVIEW_RESOLUTIONS);
export const ReconciliationKindEnum = enumObject<ReconciliationKind>(RECONCILIATION_KINDS);
export type { ReconciliationKind, ReviewResolution };

registerEnumType(ReviewResolutionEnum, {
  name: 'ReviewResolution',
  description: 'ACCEPT: the payment stands as UMS has it; REFUND: what is left at UMS is refunded first; DISMISS: a false alarm',
});
registerEnumType(ReconciliationKindEnum, { name: 'ReconciliationKind', description: 'What reconciliation found for one payment' });

@ObjectType()
export class ReconciliationCounts {
  @Field(() => Int) matched!: number;
  @Field(() => Int) corrected!: number;
  @Field(() => Int) missingAtUms!: number;
  @Field(() => Int) statusMismatch!: number;
  @Field(() => Int) amountMismatch!: number;
  @Field(() => Int) errors!: number;
}

@ObjectType({ description: 'fen: paid and refunded as the gateway saw the payments before the run, and as UMS reports them' })
export class ReconciliationTotals {
  @Field(() => Int) paid!: number;
  @Field(() => Int) refunded!: number;
  @Field(() => Int) umsPaid!: number;
  @Field(() => Int) umsRefunded!: number;
}

@ObjectType()
export class ReconciliationItem {
  @Field(() => ID) merOrderId!: string;
  @Field(() => ReconciliationKindEnum) kind!: ReconciliationKind;
  @Field(() => JSONScalar, { nullable: true, description: 'The gateway before the look: status, totalAmount, refundedAmount, buyerPayAmount' })
  ours!: unknown;
  @Field(() => JSONScalar, { nullable: true, description: "UMS's answer: status, totalAmount, buyerPayAmount, refundAmount (or errCode)" })
  theirs!: unknown;
  @Field(() => String, { nullable: true }) note!: string | null;
}

@ObjectType({ description: 'One reconciliation of a merchant’s Beijing business day against UMS, by query-back' })
export class ReconciliationRun {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'Beijing business day, YYYY-MM-DD' }) date!: string;
  @Field(() => ID, { nullable: true }) merchantId!: string | null;
  @Field(() => String, { description: 'RUNNING, DONE or FAILED' }) status!: string;
  @Field(() => String, { description: 'manual (reconcile) or daily (RECONCILE_DAILY_AT)' }) trigger!: string;
  @Field(() => DateTimeScalar) startedAt!: Date;
  @Field(() => DateTimeScalar, { nullable: true }) finishedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Why a run FAILED' }) error!: string | null;
  @Field(() => ReconciliationCounts) counts!: ReconciliationCounts;
  @Field(() => ReconciliationTotals) totals!: ReconciliationTotals;
  @Field(() => [ReconciliationItem]) items!: ReconciliationItem[];
}

@ObjectType({ description: 'A notification as received at POST /notify/ums (repeats of one body count on its row)' })
export class Notification {
  @Field(() => ID) id!: string;
  @Field(() => DateTimeScalar) receivedAt!: Date;
  @Field(() => DateTimeScalar) lastReceivedAt!: Date;
  @Field(() => Int) receivedCount!: number;
  @Field(() => String, { description: 'APPLIED, DUPLICATE, STALE, FLAGGED (needs review, including an order we never created) or REJECTED' })
  outcome!: string;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'Why a signature did not verify' }) diagnosis!: string | null;
  @Field(() => ID, { nullable: true }) merOrderId!: string | null;
  @Field(() => ID, { nullable: true }) merchantId!: string | null;
  @Field(() => Boolean) verified!: boolean;
  @Field(() => JSONScalar, { nullable: true, description: 'The body’s fields, buyer identifiers masked, long values cut' })
  fields!: unknown;
}

@ObjectType()
export class NotificationEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Notification) node!: Notification;
}

@ObjectType()
export class NotificationConnection {
  @Field(() => [NotificationEdge]) edges!: NotificationEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
