/**
 * Real database failures on demand: a trigger raises `injected fault: <name>` on the writes it
 * guards while a row named <name> is in test_faults. The code under test meets a genuine driver
 * error (wrapped however the driver wraps it), not a mock.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/database.js';

export interface FaultTrigger {
  /** Fault name, switched on by `faults.on(name)`. */
  name: string;
  /** e.g. `before insert on payment_events for each row when (new.reason <> 'created')`. */
  on: string;
}

export interface Faults {
  on(...names: string[]): Promise<void>;
  clear(): Promise<void>;
}

export async function installFaults(db: Database, triggers: readonly FaultTrigger[]): Promise<Faults> {
  await db.execute(sql`create table test_faults (name text primary key)`);
  await db.execute(
    sql.raw(`create function test_fault() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from test_faults where name = tg_argv[0]) then
          raise exception 'injected fault: %', tg_argv[0];
        end if;
        return new;
      end $$`),
  );
  for (const t of triggers) {
    await db.execute(sql.raw(`create trigger fault_${t.name} ${t.on} execute function test_fault('${t.name}')`));
  }
  return {
    on: async (...names) => {
      for (const n of names) await db.execute(sql`insert into test_faults values (${n})`);
    },
    clear: async () => {
      await db.execute(sql`delete from test_faults`);
    },
  };
}

/** The database error raised by test_fault(), however the driver wraps it. */
export function isInjectedFault(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) if (/injected fault/.test(e.message)) return true;
  return false;
}
