/** Webhook endpoints and their delivery log (CONTRACT.md "Webhooks to the merchant's backend"). */
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { WebhookDeliveryRow, WebhookEndpointRow } from '../../db/schema.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../../webhooks/payload.js';
import { PageInfo } from './connection.js';
import { DateTimeScalar } from './scalars.js';

export const WebhookEventTypeEnum = Object.fromEntries(WEBHOOK_EVENT_TYPES.map((t) => [t, t])) as { readonly [K in WebhookEventType]: K };
registerEnumType(WebhookEventTypeEnum, {
  name: 'WebhookEventType',
  description: 'payment.status_changed, refund.status_changed, payment.needs_review',
});

@ObjectType({ description: "Where the merchant's backend hears of events (Standard Webhooks)" })
export class WebhookEndpoint {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  url!: string;

  @Field(() => ID, { nullable: true, description: "The merchant whose events it gets; null: every merchant's" })
  merchantId!: string | null;

  @Field(() => [WebhookEventTypeEnum], { description: 'The types it gets (every type when created without a list)' })
  events!: WebhookEventType[];

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;
}

/** The GraphQL view of a row: never the sealed secrets. */
export function endpointOf(row: WebhookEndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    merchantId: row.merchantId,
    events: (row.events.length > 0 ? row.events : [...WEBHOOK_EVENT_TYPES]) as WebhookEventType[],
    enabled: row.enabled,
    description: row.description,
    createdAt: row.createdAt,
  };
}

@ObjectType()
export class CreatedWebhookEndpoint {
  @Field(() => WebhookEndpoint)
  endpoint!: WebhookEndpoint;

  @Field(() => String, { description: 'whsec_<base64>: shown this once; verify webhook-signature with it' })
  secret!: string;
}

@ObjectType({ description: 'One attempt to send one event to one endpoint' })
export class WebhookDelivery {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: "The event's id: webhook-id, the same on every attempt" })
  eventId!: string;

  @Field(() => ID)
  endpointId!: string;

  @Field(() => WebhookEventTypeEnum)
  eventType!: WebhookEventType;

  @Field(() => Int, { description: '1 for the first attempt' })
  attempt!: number;

  @Field(() => String, { description: 'PENDING, SUCCEEDED, RETRYING (a next attempt is queued) or FAILED (gave up)' })
  status!: string;

  @Field(() => Int, { nullable: true })
  httpStatus!: number | null;

  @Field(() => Int, { nullable: true })
  durationMs!: number | null;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => DateTimeScalar, { description: 'When the attempt was made (PENDING: when it is due)' })
  at!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  nextAttemptAt!: Date | null;
}

export function deliveryOf(row: WebhookDeliveryRow): WebhookDelivery {
  return {
    id: String(row.id),
    eventId: String(row.eventId),
    endpointId: row.endpointId,
    eventType: row.eventType as WebhookEventType,
    attempt: row.attempt,
    status: row.status,
    httpStatus: row.httpStatus,
    durationMs: row.durationMs,
    error: row.error,
    at: row.at,
    nextAttemptAt: row.nextAttemptAt,
  };
}

@ObjectType()
export class WebhookDeliveryEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => WebhookDelivery)
  node!: WebhookDelivery;
}

@ObjectType()
export class WebhookDeliveryConnection {
  @Field(() => [WebhookDeliveryEdge])
  edges!: WebhookDeliveryEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@InputType()
export class CreateWebhookEndpointInput {
  @Field(() => String)
  url!: string;

  @Field(() => [WebhookEventTypeEnum], { nullable: true, description: 'Left out: every type' })
  events?: WebhookEventType[] | null;

  @Field(() => ID, { nullable: true, description: "Left out: the caller's merchant (gateway-wide for a gateway-wide key)" })
  merchantId?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType()
export class UpdateWebhookEndpointInput {
  @Field(() => String, { nullable: true })
  url?: string | null;

  @Field(() => [WebhookEventTypeEnum], { nullable: true })
  events?: WebhookEventType[] | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}
