/**
 * The api_keys table: create, list, revoke, load the live ones, and record use. Every change
 * rings API_KEY_CHANNEL in its own transaction, so every instance's cache (key-cache.ts) reloads
 * once the change is committed.
 */
import { and, asc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { apiKeys, type ApiKeyRow } from '../db/schema.js';
import type { Scope } from '../config.js';
import { keyHash, newKeyId, newKeyText } from './key-text.js';

/** LISTEN/NOTIFY channel of key changes; the payload is the key id (a doorbell, not the news). */
export const API_KEY_CHANNEL = 'api_key_changed';

export interface NewApiKey {
  name: string | null;
  scopes: readonly Scope[];
  expiresAt: Date | null;
  /** The merchant the key is bound to; null: gateway-wide. */
  merchantId: string | null;
}

/** Whose keys a listing or a revocation may reach: one merchant's, or any (a gateway-wide admin). */
export type KeyOwner = { readonly merchantId: string } | 'any';

function ownedBy(owner: KeyOwner) {
  return owner === 'any' ? undefined : eq(apiKeys.merchantId, owner.merchantId);
}

export class ApiKeyStore {
  constructor(private readonly db: Database) {}

  /** Stores a new key and returns its row and its text (the only time the text exists). */
  async create(input: NewApiKey): Promise<{ row: ApiKeyRow; text: string }> {
    const text = newKeyText();
    const row = await this.db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(apiKeys)
        .values({ id: newKeyId(), name: input.name, merchantId: input.merchantId, scopes: [...new Set(input.scopes)], keyHash: keyHash(text), expiresAt: input.expiresAt })
        .returning();
      if (!inserted) throw new Error('api key insert returned no row');
      await tx.execute(sql`select pg_notify(${API_KEY_CHANNEL}::text, ${inserted.id}::text)`);
      return inserted;
    });
    return { row, text };
  }

  /** The keys of `owner`, oldest first. */
  list(owner: KeyOwner): Promise<ApiKeyRow[]> {
    return this.db.select().from(apiKeys).where(ownedBy(owner)).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
  }

  /**
   * Revokes a key of `owner` (a second call changes nothing); undefined when `owner` has no such
   * key (another merchant's key reads as one that does not exist).
   */
  async revoke(id: string, owner: KeyOwner = 'any'): Promise<ApiKeyRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [revoked] = await tx
        .update(apiKeys)
        .set({ revokedAt: new Date() })
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt), ownedBy(owner)))
        .returning();
      if (revoked) {
        await tx.execute(sql`select pg_notify(${API_KEY_CHANNEL}::text, ${id}::text)`);
        return revoked;
      }
      const [existing] = await tx.select().from(apiKeys).where(and(eq(apiKeys.id, id), ownedBy(owner)));
      return existing;
    });
  }

  /** The keys not revoked (expired ones too: the cache checks expiry at each lookup). */
  /** Keys neither revoked nor expired: what the cache holds (expired ones would only grow it). */
  loadLive(now = new Date()): Promise<ApiKeyRow[]> {
    return this.db
      .select()
      .from(apiKeys)
      .where(and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now))));
  }

  /** Records when keys were last used (no notification: nothing the cache decides by changes). */
  async touch(ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.db.update(apiKeys).set({ lastUsedAt: at }).where(inArray(apiKeys.id, [...ids]));
  }
}
