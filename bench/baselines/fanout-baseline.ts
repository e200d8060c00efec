/**
 * Figure 3's baseline: the same store as figure 1's baseline, then one message, encoded once, sent
 * on every open WebSocket (the `ws` package, no protocol above it). Each open socket is an idle
 * "subscription" held in a Set, which is also what the memory baseline counts.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { RunningRole } from '../child.js';
import type { ChildSpec, SeedArgs } from '../ipc.js';
import { answer, closeServer, listen, readBody } from './http.js';
import { createBaselineTable, seedBaselineOrders, storeNotification } from './notify-store.js';
import { openRawSql } from './raw-sql.js';

export async function startFanoutBaseline(spec: ChildSpec): Promise<RunningRole> {
  const sql = await openRawSql(spec.databaseUrl);
  await createBaselineTable(sql);
  const sockets = new Set<WebSocket>();
  const { server, url } = await listen((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const row = body === undefined ? undefined : await storeNotification(sql, body);
        if (!row) return answer(res, 400, 'text/plain; charset=utf-8', 'FAILED');
        answer(res, 200, 'text/plain; charset=utf-8', 'SUCCESS');
        const message = JSON.stringify({
          id: '1',
          type: 'next',
          payload: {
            data: {
              paymentStatusChanged: {
                status: row.status,
                previousStatus: 'NEW_ORDER',
                source: 'NOTIFY',
                at: new Date(row.updated_at).toISOString(),
                payment: { merOrderId: row.mer_order_id, status: row.status, version: row.version, totalAmount: row.total_amount },
              },
            },
          },
        });
        for (const socket of sockets) socket.send(message);
      } catch {
        answer(res, 503, 'text/plain; charset=utf-8', 'FAILED');
      }
    })();
  });
  const wss = new WebSocketServer({ server, path: '/graphql' });
  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    url,
    commands: {
      seed: (args) => seedBaselineOrders(sql, args as SeedArgs),
      subscriptions: async () => sockets.size,
    },
    close: async () => {
      for (const socket of sockets) socket.terminate();
      wss.close();
      await closeServer(server);
      await sql.close();
    },
  };
}
