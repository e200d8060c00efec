/**
 * Figure 2's baseline: POST /graphql with the same JSON body → read `variables.merOrderId`, the same
 * primary-key SELECT on `payments`, the same fields JSON-encoded as `{"data":{"payment":…}}`.
 * No GraphQL parse, validation or execution: that is what the ratio prices.
 */
import { DEMO } from '../../src/config.js';
import { insertNewOrder } from '../../src/payments/ledger.js';
import type { RunningRole } from '../child.js';
import { inParallel } from '../gateway-role.js';
import type { ChildSpec, SeedArgs } from '../ipc.js';
import { answer, closeServer, listen, readBody } from './http.js';
import { openRawSql } from './raw-sql.js';

interface PaymentRow {
  mer_order_id: string;
  status: string;
  version: number;
  channel: string | null;
  total_amount: number;
  mid: string;
  tid: string;
  refunded_amount: number;
  created_at: Date;
  updated_at: Date;
}

const SELECT = 'SELECT * FROM payments WHERE mer_order_id = $1 LIMIT 1';

function encode(row: PaymentRow | undefined): string {
  const payment = row
    ? {
        merOrderId: row.mer_order_id,
        status: row.status,
        version: row.version,
        channel: row.channel,
        totalAmount: row.total_amount,
        mid: row.mid,
        tid: row.tid,
        refundedAmount: row.refunded_amount,
        createdAt: new Date(row.created_at).toISOString(),
        updatedAt: new Date(row.updated_at).toISOString(),
      }
    : null;
  return JSON.stringify({ data: { payment } });
}

export async function startQueryBaseline(spec: ChildSpec): Promise<RunningRole> {
  // With PGlite the baseline has a database of its own, migrated like the gateway's.
  const sql = await openRawSql(spec.databaseUrl, { migrate: true });
  const { server, url } = await listen((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const request = JSON.parse(body ?? '') as { variables?: { merOrderId?: unknown } };
        const id = request.variables?.merOrderId;
        if (typeof id !== 'string') return answer(res, 400, 'application/json', '{"errors":[{"message":"merOrderId"}]}');
        const [row] = await sql.query<PaymentRow>(SELECT, [id]);
        answer(res, 200, 'application/json; charset=utf-8', encode(row));
      } catch {
        answer(res, 500, 'application/json', '{"errors":[{"message":"internal"}]}');
      }
    })();
  });
  return {
    url,
    commands: {
      /** PGlite only (a server database is seeded by the gateway, through its ledger). */
      seed: async (args) => {
        const db = sql.embedded;
        if (!db) return 0;
        const { prefix, count } = args as SeedArgs;
        await inParallel(count, 16, (i) =>
          insertNewOrder(db, { merOrderId: `${prefix}${i}`, totalAmount: 100, mid: DEMO.mid, tid: DEMO.tid, channel: 'WECHAT_MINI' }),
        );
        return count;
      },
    },
    close: async () => {
      await closeServer(server);
      await sql.close();
    },
  };
}
