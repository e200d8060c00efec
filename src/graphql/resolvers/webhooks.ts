/**
 * Webhook management (admin scope). A merchant-bound admin acts on its merchant's endpoints only:
 * another merchant's endpoint (or event) reads as NOT_FOUND, exactly like one that does not exist.
 */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../webhooks/deliveries.js';
import { WebhookInputError, type WebhookAdmin } from '../../webhooks/admin.js';
import { EndpointLimitError } from '../../webhooks/endpoints.js';
import { NoSecretKeyError } from '../../webhooks/secret-box.js';
import { actorOf, merchantScope } from '../auth.js';
import type { GraphQLContext } from '../context.js';
import {
  CreatedWebhookEndpoint,
  CreateWebhookEndpointInput,
  deliveryOf,
  endpointOf,
  UpdateWebhookEndpointInput,
  WebhookDeliveryConnection,
  WebhookEndpoint,
  type WebhookDelivery,
} from '../types/webhook.js';

const MAX_PAGE = 100;
const error = (code: string, message: string) => new GraphQLError(message, { extensions: { code } });
const notFound = (what: string) => error('NOT_FOUND', `No ${what} has this id`);

function adminOf(ctx: GraphQLContext): WebhookAdmin {
  const admin = ctx.services.webhooks;
  if (!admin) throw error('FAILED_PRECONDITION', 'webhooks are not available on this gateway');
  return admin;
}

/** Domain refusals as GraphQL errors; anything else passes on (and is masked). */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof WebhookInputError || err instanceof EndpointLimitError) throw error('BAD_USER_INPUT', err.message);
    if (err instanceof NoSecretKeyError) throw error('SECRET_KEY_MISSING', err.message);
    throw err;
  }
}

function eventIdOf(text: string): number {
  const id = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw notFound('event');
  return id;
}

const MERCHANT_ID = /^[a-z0-9_-]{1,32}$/;

@Resolver()
export class WebhookResolver {
  @Authorized('admin')
  @Query(() => [WebhookEndpoint], { description: "Admin: webhook endpoints (a merchant key: its merchant's), oldest first" })
  async webhookEndpoints(@Arg('merchantId', () => ID, { nullable: true }) merchantId: string | null | undefined, @Ctx() ctx: GraphQLContext): Promise<WebhookEndpoint[]> {
    const rows = await adminOf(ctx).endpoints.list(merchantScope(ctx.caller), merchantId ?? undefined);
    return rows.map(endpointOf);
  }

  @Authorized('admin')
  @Query(() => WebhookDeliveryConnection, { description: 'Admin: every delivery attempt, newest first' })
  async webhookDeliveries(
    @Arg('endpointId', () => ID, { nullable: true }) endpointId: string | null | undefined,
    @Arg('eventId', () => ID, { nullable: true }) eventId: string | null | undefined,
    @Arg('status', () => String, { nullable: true, description: 'PENDING, SUCCEEDED, RETRYING or FAILED' }) status: string | null | undefined,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: `1 to ${MAX_PAGE}` }) firstArg: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<{ edges: { cursor: string; node: WebhookDelivery }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }> {
    const first = firstArg ?? 20;
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw error('BAD_USER_INPUT', `first must be between 1 and ${MAX_PAGE}`);
    if (status != null && !DELIVERY_STATUSES.includes(status as DeliveryStatus)) throw error('BAD_USER_INPUT', `status must be one of ${DELIVERY_STATUSES.join(', ')}`);
    let beforeId: number | undefined;
    if (after != null) {
      const decoded = Buffer.from(after, 'base64url').toString('utf8');
      beforeId = /^d:\d{1,15}$/.test(decoded) ? Number(decoded.slice(2)) : undefined;
      if (beforeId === undefined) throw error('BAD_USER_INPUT', 'after is not a cursor of this list');
    }
    let event: number | undefined;
    if (eventId != null) {
      event = /^\d{1,15}$/.test(eventId) ? Number(eventId) : undefined;
      if (event === undefined) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
    }
    const page = await adminOf(ctx).deliveries(merchantScope(ctx.caller), {
      ...(endpointId != null ? { endpointId } : {}),
      ...(event !== undefined ? { eventId: event } : {}),
      ...(status != null ? { status: status as DeliveryStatus } : {}),
      ...(beforeId !== undefined ? { beforeId } : {}),
      first,
    });
    const edges = page.rows.map((row) => ({ cursor: Buffer.from(`d:${row.id}`, 'utf8').toString('base64url'), node: deliveryOf(row) }));
    return { edges, pageInfo: { hasNextPage: page.hasMore, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Authorized('admin')
  @Mutation(() => CreatedWebhookEndpoint, { description: 'Admin: a new endpoint; its secret is in the answer and nowhere else' })
  async createWebhookEndpoint(@Arg('input', () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput, @Ctx() ctx: GraphQLContext): Promise<CreatedWebhookEndpoint> {
    const scope = merchantScope(ctx.caller);
    if (scope !== undefined && input.merchantId != null && input.merchantId !== scope) throw error('FORBIDDEN', "This key may create endpoints for its own merchant only");
    if (input.merchantId != null && !MERCHANT_ID.test(input.merchantId)) throw error('BAD_USER_INPUT', 'merchantId must match [a-z0-9_-]{1,32}');
    if (input.events != null && input.events.length === 0) throw error('BAD_USER_INPUT', 'events must name at least one type (leave it out for every type)');
    const { row, secret } = await answer(() =>
      adminOf(ctx).create({ url: input.url, events: input.events ?? [], merchantId: scope ?? input.merchantId ?? null, description: input.description ?? null }),
    );
    ctx.services.log.info({ endpointId: row.id, merchantId: row.merchantId, actor: actorOf(ctx.caller) }, 'webhook endpoint created');
    return { endpoint: endpointOf(row), secret };
  }

  @Authorized('admin')
  @Mutation(() => WebhookEndpoint, { description: 'Admin: changes an endpoint; disabling it drops its attempts not yet made' })
  async updateWebhookEndpoint(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookEndpoint> {
    if (input.events != null && input.events.length === 0) throw error('BAD_USER_INPUT', 'events must name at least one type');
    const row = await answer(() =>
      adminOf(ctx).update(id, merchantScope(ctx.caller), {
        ...(input.url != null ? { url: input.url } : {}),
        ...(input.events != null ? { events: input.events } : {}),
        ...(input.enabled != null ? { enabled: input.enabled } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
      }),
    );
    if (!row) throw notFound('webhook endpoint');
    ctx.services.log.info({ endpointId: id, changed: Object.keys(input).filter((k) => input[k as keyof UpdateWebhookEndpointInput] !== undefined), actor: actorOf(ctx.caller) }, 'webhook endpoint updated');
    return endpointOf(row);
  }

  @Authorized('admin')
  @Mutation(() => Boolean, { description: 'Admin: deletes an endpoint and its delivery log' })
  async deleteWebhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const deleted = await adminOf(ctx).endpoints.delete(id, merchantScope(ctx.caller));
    if (!deleted) throw notFound('webhook endpoint');
    ctx.services.log.info({ endpointId: id, actor: actorOf(ctx.caller) }, 'webhook endpoint deleted');
    return true;
  }

  @Authorized('admin')
  @Mutation(() => CreatedWebhookEndpoint, { description: 'Admin: a new secret (shown once); the old one also signs for 24 h' })
  async rotateWebhookSecret(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<CreatedWebhookEndpoint> {
    const rotated = await answer(() => adminOf(ctx).endpoints.rotate(id, merchantScope(ctx.caller)));
    if (!rotated) throw notFound('webhook endpoint');
    ctx.services.log.info({ endpointId: id, actor: actorOf(ctx.caller) }, 'webhook secret rotated');
    return { endpoint: endpointOf(rotated.row), secret: rotated.secret };
  }

  @Authorized('admin')
  @Mutation(() => Boolean, { description: 'Admin: sends an event again (the same body), to one endpoint or to every endpoint it was sent to' })
  async resendWebhookEvent(
    @Arg('eventId', () => ID) eventId: string,
    @Arg('endpointId', () => ID, { nullable: true }) endpointId: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<boolean> {
    const admin = adminOf(ctx);
    const scope = merchantScope(ctx.caller);
    const event = await admin.event(eventIdOf(eventId), scope);
    if (!event) throw notFound('event');
    let endpoint;
    if (endpointId != null) {
      endpoint = await admin.endpoints.get(endpointId, scope);
      if (!endpoint) throw notFound('webhook endpoint');
      if (endpoint.merchantId !== null && endpoint.merchantId !== event.merchantId) throw error('BAD_USER_INPUT', "This event is not of the endpoint's merchant");
    }
    const queued = await admin.resend(event, endpoint, scope);
    ctx.services.log.info({ eventId: event.id, endpointId: endpoint?.id ?? null, queued, actor: actorOf(ctx.caller) }, 'webhook event resent');
    return queued;
  }
}
