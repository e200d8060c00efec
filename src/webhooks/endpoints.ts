/**
 * The webhook endpoints table: create (the secret is answered once and stored sealed), change,
 * delete, rotate, list. `scope` is the one merchant a caller may act for (undefined: every
 * merchant); another merchant's endpoint reads as absent, exactly like one that does not exist.
 */
import { randomBytes } from 'node:crypto';
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { webhookDeliveries, webhookEndpoints, type WebhookEndpointRow } from '../db/schema.js';
import type { WebhookEventType } from './payload.js';
import type { SecretBox } from './secret-box.js';
import { newWebhookSecret } from './signing.js';
import { WEBHOOK_CHANNEL } from './rows.js';

/** How long the previous secret still signs after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
/** Endpoints per gateway: bounds the dispatcher's work per event and the table. */
export const MAX_ENDPOINTS = 100;
/** Endpoints per merchant (gateway-wide ones count as one merchant): no merchant takes the gateway's share. */
export const MAX_ENDPOINTS_PER_MERCHANT = 16;

export interface EndpointPatch {
  url?: string;
  events?: WebhookEventType[];
  enabled?: boolean;
  description?: string | null;
}

/** Which endpoints a caller sees: every one (undefined), or those of one merchant. */
export type MerchantScope = string | undefined;

export class WebhookEndpoints {
  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
  ) {}

  async list(scope: MerchantScope, merchantId?: string): Promise<WebhookEndpointRow[]> {
    const conditions: SQL[] = [];
    if (scope !== undefined) conditions.push(eq(webhookEndpoints.merchantId, scope));
    if (merchantId !== undefined) conditions.push(eq(webhookEndpoints.merchantId, merchantId));
    return this.db
      .select()
      .from(webhookEndpoints)
      .where(conditions.length > 0 ? and(...conditions) : undefined)
      .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id));
  }

  async get(id: string, scope: MerchantScope): Promise<WebhookEndpointRow | undefined> {
    const [row] = await this.db.select().from(webhookEndpoints).where(this.#visible(id, scope));
    return row;
  }

  async create(input: { url: string; events: WebhookEventType[]; merchantId: string | null; description: string | null }): Promise<{ row: WebhookEndpointRow; secret: string }> {
    const secret = newWebhookSecret();
    const sealed = this.box.seal(secret);
    return this.db.transaction(async (tx) => {
      // Creations one at a time, so two racing cannot both pass the counts.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('webhook_endpoints'))`);
      const [{ count, own } = { count: 0, own: 0 }] = await tx
        .select({
          count: sql<number>`count(*)::int`,
          own: sql<number>`(count(*) filter (where ${input.merchantId === null ? sql`${webhookEndpoints.merchantId} is null` : sql`${webhookEndpoints.merchantId} = ${input.merchantId}`}))::int`,
        })
        .from(webhookEndpoints);
      if (own >= MAX_ENDPOINTS_PER_MERCHANT) throw new EndpointLimitError(`at most ${MAX_ENDPOINTS_PER_MERCHANT} webhook endpoints per merchant`);
      if (count >= MAX_ENDPOINTS) throw new EndpointLimitError(`at most ${MAX_ENDPOINTS} webhook endpoints`);
      const [row] = await tx
        .insert(webhookEndpoints)
        .values({
          id: `whe_${randomBytes(12).toString('hex')}`,
          url: input.url,
          merchantId: input.merchantId,
          events: input.events,
          description: input.description,
          secret: sealed,
          // Its own transaction's id: a dispatcher that cannot see it yet has read only events
          // of older transactions (src/webhooks/engine.ts), none of which it wants.
          feedFrom: sql`pg_current_xact_id()`,
        })
        .returning();
      if (!row) throw new Error('webhook endpoint insert returned nothing');
      await announce(tx);
      return { row, secret };
    });
  }

  async update(id: string, scope: MerchantScope, patch: EndpointPatch): Promise<WebhookEndpointRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(webhookEndpoints)
        .set({
          ...(patch.url !== undefined ? { url: patch.url } : {}),
          ...(patch.events !== undefined ? { events: patch.events } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
          // Enabling: it gets the events after now, none of those written while it was disabled.
          ...(patch.enabled === true ? { feedFrom: sql`case when ${webhookEndpoints.enabled} then ${webhookEndpoints.feedFrom} else pg_current_xact_id() end` } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
        })
        .where(this.#visible(id, scope))
        .returning();
      // While disabled nothing queues for it: attempts not yet made are dropped (resend by hand).
      // One being sent right now is left to finish and be recorded.
      if (row && patch.enabled === false) {
        await tx
          .delete(webhookDeliveries)
          .where(and(eq(webhookDeliveries.endpointId, id), eq(webhookDeliveries.status, 'PENDING'), sql`(${webhookDeliveries.claimedUntil} is null or ${webhookDeliveries.claimedUntil} < now())`));
      }
      if (row) await announce(tx);
      return row;
    });
  }

  async delete(id: string, scope: MerchantScope): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const deleted = await tx.delete(webhookEndpoints).where(this.#visible(id, scope)).returning({ id: webhookEndpoints.id });
      if (deleted.length > 0) await announce(tx);
      return deleted.length > 0;
    });
  }

  /** A new secret; the current one becomes the previous one, still signed with for 24 h. */
  async rotate(id: string, scope: MerchantScope): Promise<{ row: WebhookEndpointRow; secret: string } | undefined> {
    const secret = newWebhookSecret();
    const sealed = this.box.seal(secret);
    const [row] = await this.db
      .update(webhookEndpoints)
      .set({ previousSecret: sql`${webhookEndpoints.secret}`, secret: sealed, rotatedAt: new Date() })
      .where(this.#visible(id, scope))
      .returning();
    return row ? { row, secret } : undefined;
  }

  /** The secrets an attempt is signed with now: the current one, and the previous within 24 h of a rotation. */
  signingSecrets(row: Pick<WebhookEndpointRow, 'secret' | 'previousSecret' | 'rotatedAt'>, now = Date.now()): string[] {
    const secrets = [this.box.open(row.secret)];
    if (row.previousSecret && row.rotatedAt && now - row.rotatedAt.getTime() < ROTATION_OVERLAP_MS) secrets.push(this.box.open(row.previousSecret));
    return secrets;
  }

  #visible(id: string, scope: MerchantScope): SQL | undefined {
    return scope === undefined ? eq(webhookEndpoints.id, id) : and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.merchantId, scope));
  }
}

export class EndpointLimitError extends Error {
  override name = 'EndpointLimitError';
}

/** Wakes every instance's dispatcher: the set of endpoints changed. */
async function announce(tx: Database): Promise<void> {
  await tx.execute(sql`select pg_notify(${WEBHOOK_CHANNEL}, 'endpoints')`);
}
