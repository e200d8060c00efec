/**
 * Whether a merchant id names a merchant: the environment's `default`, or a row of `merchants`.
 * One function, so the merchant registry (src/merchants/) can take its place without touching the
 * callers (key management, createPayment).
 */
import { eq } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { merchants } from '../db/schema.js';
import { DEFAULT_MERCHANT_ID, isMerchantId } from '../merchants/ids.js';

export async function merchantExists(db: Database, id: string): Promise<boolean> {
  if (id === DEFAULT_MERCHANT_ID) return true;
  // Not an id any merchant can have: no query.
  if (!isMerchantId(id)) return false;
  const [row] = await db.select({ id: merchants.id }).from(merchants).where(eq(merchants.id, id)).limit(1);
  return row !== undefined;
}
