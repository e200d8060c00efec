/**
 * The merchants table: list, read, create, replace, and re-seal secrets. Every change rings
 * MERCHANT_CHANNEL in its own transaction, so every instance's registry (registry.ts) reloads once
 * it is committed. Secrets arrive here already sealed (secret-box.ts): this file never sees them.
 */
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { merchants, type MerchantRow } from '../db/schema.js';

/** LISTEN/NOTIFY channel of merchant changes; the payload is the merchant id (a doorbell). */
export const MERCHANT_CHANNEL = 'merchant_changed';

/** What a stored merchant is made of, its secrets sealed as one box. */
export interface MerchantValues {
  id: string;
  name: string | null;
  mid: string;
  tid: string;
  sourceId: string;
  instMid: string | null;
  appId: string;
  authMode: string;
  enabled: boolean;
  secrets: string;
}

/** A create or update that would break a unique rule: which one. */
export class MerchantConflict extends Error {
  override name = 'MerchantConflict';
  constructor(readonly field: 'id' | 'mid/tid', message: string) {
    super(message);
  }
}

export class MerchantStore {
  constructor(private readonly db: Database) {}

  /** Every stored merchant, by id. */
  list(): Promise<MerchantRow[]> {
    return this.db.select().from(merchants).orderBy(asc(merchants.id));
  }

  async get(id: string): Promise<MerchantRow | undefined> {
    const [row] = await this.db.select().from(merchants).where(eq(merchants.id, id));
    return row;
  }

  async create(values: MerchantValues): Promise<MerchantRow> {
    return this.db.transaction(async (tx) => {
      await checkUnique(tx, values, undefined);
      const now = new Date();
      const [row] = await tx.insert(merchants).values({ ...values, createdAt: now, updatedAt: now }).onConflictDoNothing().returning();
      // A racing create took the id or the mid/tid between the check and the insert.
      if (!row) throw (await conflictOf(tx, values, undefined)) ?? new MerchantConflict('id', `a merchant with id ${values.id} already exists`);
      await ring(tx, row.id);
      return row;
    });
  }

  /** Replaces the merchant `values.id`; undefined when there is none. */
  async replace(values: MerchantValues): Promise<MerchantRow | undefined> {
    try {
      return await this.db.transaction(async (tx) => {
        await checkUnique(tx, values, values.id);
        const { id, ...rest } = values;
        const [row] = await tx.update(merchants).set({ ...rest, updatedAt: new Date() }).where(eq(merchants.id, id)).returning();
        if (row) await ring(tx, row.id);
        return row;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new MerchantConflict('mid/tid', `another merchant already has mid ${values.mid} and tid ${values.tid}`);
      throw err;
    }
  }

  /** Stores `box` in place of `previous` (a re-seal under the current key); false when it changed meanwhile. */
  async reseal(id: string, previous: string, box: string): Promise<boolean> {
    const rows = await this.db
      .update(merchants)
      .set({ secrets: box })
      .where(and(eq(merchants.id, id), eq(merchants.secrets, previous)))
      .returning({ id: merchants.id });
    return rows.length > 0;
  }
}

type Executor = Pick<Database, 'select' | 'execute'>;

async function checkUnique(tx: Executor, values: MerchantValues, self: string | undefined): Promise<void> {
  const conflict = await conflictOf(tx, values, self);
  if (conflict) throw conflict;
}

async function conflictOf(tx: Executor, values: MerchantValues, self: string | undefined): Promise<MerchantConflict | undefined> {
  if (self === undefined) {
    const [same] = await tx.select({ id: merchants.id }).from(merchants).where(eq(merchants.id, values.id));
    if (same) return new MerchantConflict('id', `a merchant with id ${values.id} already exists`);
  }
  const sameIds = and(eq(merchants.mid, values.mid), eq(merchants.tid, values.tid));
  const [other] = await tx
    .select({ id: merchants.id })
    .from(merchants)
    .where(self === undefined ? sameIds : and(sameIds, ne(merchants.id, self)));
  if (other) return new MerchantConflict('mid/tid', `another merchant already has mid ${values.mid} and tid ${values.tid}`);
  return undefined;
}

async function ring(tx: Executor, id: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${MERCHANT_CHANNEL}::text, ${id}::text)`);
}

/** Postgres 23505, however the driver or Drizzle wrapped it. */
function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}
