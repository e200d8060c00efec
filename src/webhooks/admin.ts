/**
 * What GraphQL's webhook management calls (one object per gateway instance): endpoints with the
 * URL policy applied, the delivery log, resend. Errors are WebhookInputError (bad input: nothing
 * changed) or undefined answers for "no such endpoint/event for this caller".
 */
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { paymentEvents, type PaymentEventRow, type WebhookDeliveryRow, type WebhookEndpointRow } from '../db/schema.js';
import { listDeliveries, resend, type DeliveryStatus } from './deliveries.js';
import { WebhookEndpoints, type EndpointPatch, type MerchantScope } from './endpoints.js';
import type { WebhookEventType } from './payload.js';
import type { SecretBox } from './secret-box.js';
import { urlRefusal, type UrlPolicy } from './url-policy.js';

export class WebhookInputError extends Error {
  override name = 'WebhookInputError';
}

export const MAX_DESCRIPTION_LENGTH = 500;

export class WebhookAdmin {
  readonly endpoints: WebhookEndpoints;

  constructor(
    private readonly db: Database,
    box: SecretBox,
    readonly policy: UrlPolicy,
    /** Wakes this instance's engine after a change (others hear LISTEN). */
    private readonly kick: () => void = () => {},
    /** Hears why a URL's host was refused after resolution (the log; the caller gets a generic answer). */
    private readonly onHostRefused: (why: string) => void = () => {},
  ) {
    this.endpoints = new WebhookEndpoints(db, box);
  }

  async create(input: { url: string; events: WebhookEventType[]; merchantId: string | null; description: string | null }): Promise<{ row: WebhookEndpointRow; secret: string }> {
    await this.#checkUrl(input.url);
    checkDescription(input.description);
    const created = await this.endpoints.create({ ...input, events: [...new Set(input.events)] });
    this.kick();
    return created;
  }

  async update(id: string, scope: MerchantScope, patch: EndpointPatch): Promise<WebhookEndpointRow | undefined> {
    if (patch.url !== undefined) await this.#checkUrl(patch.url);
    if (patch.description !== undefined) checkDescription(patch.description);
    const row = await this.endpoints.update(id, scope, patch.events ? { ...patch, events: [...new Set(patch.events)] } : patch);
    this.kick();
    return row;
  }

  /** The event as this caller may see it (its merchant's, or any for a gateway-wide caller). */
  async event(eventId: number, scope: MerchantScope): Promise<PaymentEventRow | undefined> {
    const [row] = await this.db
      .select()
      .from(paymentEvents)
      .where(scope === undefined ? eq(paymentEvents.id, eventId) : and(eq(paymentEvents.id, eventId), eq(paymentEvents.merchantId, scope)));
    return row;
  }

  /**
   * Queues the event again for one endpoint, or for every endpoint (enabled or not) that it was
   * ever sent to; false when there is none.
   */
  async resend(event: PaymentEventRow, endpoint: WebhookEndpointRow | undefined, scope: MerchantScope): Promise<boolean> {
    let ids: string[];
    if (endpoint) ids = [endpoint.id];
    else {
      const sentTo = await listDeliveries(this.db, { eventId: event.id, first: 1000 });
      const visible = new Set((await this.endpoints.list(scope)).map((e) => e.id));
      ids = [...new Set(sentTo.rows.map((d) => d.endpointId))].filter((id) => visible.has(id));
    }
    const queued = await resend(this.db, event, ids);
    this.kick();
    return queued > 0;
  }

  async deliveries(scope: MerchantScope, filter: { endpointId?: string; eventId?: number; status?: DeliveryStatus; beforeId?: number; first: number }): Promise<{ rows: WebhookDeliveryRow[]; hasMore: boolean }> {
    let endpointIds: string[] | undefined;
    if (scope !== undefined || filter.endpointId !== undefined) {
      const visible = (await this.endpoints.list(scope)).map((e) => e.id);
      endpointIds = filter.endpointId === undefined ? visible : visible.filter((id) => id === filter.endpointId);
    }
    return listDeliveries(this.db, {
      ...(endpointIds !== undefined ? { endpointIds } : {}),
      ...(filter.eventId !== undefined ? { eventId: filter.eventId } : {}),
      ...(filter.status !== undefined ? { status: filter.status } : {}),
      ...(filter.beforeId !== undefined ? { beforeId: filter.beforeId } : {}),
      first: filter.first,
    });
  }

  async #checkUrl(url: string): Promise<void> {
    const refusal = await urlRefusal(url, this.policy, this.onHostRefused);
    if (refusal) throw new WebhookInputError(refusal);
  }
}

function checkDescription(description: string | null): void {
  if (description !== null && description.length > MAX_DESCRIPTION_LENGTH) throw new WebhookInputError(`description must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
}
