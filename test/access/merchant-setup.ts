/**
 * Test set-up of merchants for the isolation suites, in one place: rows inserted straight into
 * `merchants` (with a placeholder secrets box, so no UMS client is built for them: the test
 * gateway acts for every merchant with the default profile). These suites only need the ids to
 * exist; payments of a merchant are created through its own keys, or moved to it in SQL.
 */
import { eq } from 'drizzle-orm';
import type { Database } from '../../src/db/database.js';
import { merchants, payments } from '../../src/db/schema.js';

/** Stores merchant `id` (mid/tid made unique from the id); secrets are a placeholder. */
export async function addMerchant(db: Database, id: string, n: number): Promise<void> {
  await db.insert(merchants).values({
    id,
    name: `test merchant ${id}`,
    mid: `89820161234${String(n).padStart(4, '0')}`,
    tid: `8888${String(n).padStart(4, '0')}`,
    sourceId: '3194',
    appId: `app-${id}`,
    secrets: 'placeholder: not a real secret box',
  });
}

/** Moves a payment to another merchant (as if it had been created for it). */
export async function moveToMerchant(db: Database, merOrderId: string, merchantId: string): Promise<void> {
  await db.update(payments).set({ merchantId }).where(eq(payments.merOrderId, merOrderId));
}
