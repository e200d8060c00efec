/** Figure 1's baseline: POST → parse form, check MD5 sign, one upsert → `SUCCESS`. */
import type { RunningRole } from '../child.js';
import type { ChildSpec, SeedArgs } from '../ipc.js';
import { answer, closeServer, listen, readBody } from './http.js';
import { countStatus, createBaselineTable, seedBaselineOrders, storeNotification } from './notify-store.js';
import { openRawSql } from './raw-sql.js';

export async function startNotifyBaseline(spec: ChildSpec): Promise<RunningRole> {
  const sql = await openRawSql(spec.databaseUrl);
  await createBaselineTable(sql);
  const { server, url } = await listen((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const stored = body === undefined ? undefined : await storeNotification(sql, body);
        if (stored) answer(res, 200, 'text/plain; charset=utf-8', 'SUCCESS');
        else answer(res, 400, 'text/plain; charset=utf-8', 'FAILED');
      } catch {
        answer(res, 503, 'text/plain; charset=utf-8', 'FAILED');
      }
    })();
  });
  return {
    url,
    commands: {
      seed: (args) => seedBaselineOrders(sql, args as SeedArgs),
      countStatus: (args) => countStatus(sql, args as string),
    },
    close: async () => {
      await closeServer(server);
      await sql.close();
    },
  };
}
