/**
 * postgres.js 3.4.9 threw an uncatchable TypeError (`socket.write` on null, from `nextWrite`)
 * when a connection was written to after its backend had gone: the whole process exited (CI saw
 * it in test/webhooks/database-restart.test.ts). scripts/patch-postgres.mjs (postinstall) mends
 * it; unmended, this file fails with vitest's "Unhandled Errors" (the crash).
 */
import postgres from 'postgres';
import { expect, it } from 'vitest';
import { describePostgres, onServer, postgresDatabase } from '../support/db.js';

describePostgres('postgres.js after its backend went away', () => {
  it('a query on a connection whose backend was terminated is rejected with CONNECTION_CLOSED; the process lives on', async () => {
    const database = await postgresDatabase();
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const sql = postgres(database.url!, { max: 2, onnotice: () => {}, onclose: () => closed() });
    try {
      // A reserved connection cannot be rotated away by the pool: the next write goes to its dead socket.
      const reserved = await sql.reserve();
      const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await onServer((admin) => admin`select pg_terminate_backend(${row!.pid})`);
      await connectionClosed;
      for (let i = 0; i < 3; i += 1) {
        let failure: unknown;
        try {
          await reserved`select 1`;
        } catch (err) {
          failure = err;
        }
        expect((failure as { code?: string } | undefined)?.code).toBe('CONNECTION_CLOSED');
      }
      reserved.release();
    } finally {
      await sql.end({ timeout: 2 });
      await database.close();
    }
  });
});
