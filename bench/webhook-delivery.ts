/**
 * Figure: webhook delivery throughput against a local receiver.
 *
 * Gateway side: on a database of its own (created and dropped here), one gateway-wide endpoint
 * pointing at a bare node:http receiver in its own process (answers 200 at once, counts POSTs);
 * EVENTS payment events are written through the ledger (insertNewOrder: one event each, the
 * outbox), then the webhook engine (src/webhooks/engine.ts: dispatcher, workers, the real
 * sender, signing and bookkeeping) is started, and the time runs until every delivery is
 * recorded SUCCEEDED. Deliveries per second = EVENTS / that time.
 * Baseline: the same number of POSTs of a body of the same size, straight to the same receiver
 * with undici at the engine's per-endpoint concurrency (PER_ENDPOINT in flight), nothing recorded.
 * Loopback receivers need WEBHOOK_ALLOW_PRIVATE-style policy: the URL policy of simulator mode.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { count, eq } from 'drizzle-orm';
import { Agent, request } from 'undici';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { webhookDeliveries } from '../src/db/schema.js';
import { PostgresBus } from '../src/events/postgres-bus.js';
import { createLogger } from '../src/log.js';
import { newSecretKey, parseSecretKey, SecretBox } from '../src/merchants/secret-box.js';
import { insertNewOrder } from '../src/payments/ledger.js';
import { WebhookAdmin } from '../src/webhooks/admin.js';
import { WebhookEngine } from '../src/webhooks/engine.js';
import { WebhookSender } from '../src/webhooks/sender.js';
import { createBenchDatabase } from './database.js';
import { figure, type BenchContext, type FigureResult } from './figure.js';
import { inParallel } from './gateway-role.js';
import { sleep } from './stats.js';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 1500);
/** The engine's per-endpoint cap (src/webhooks/start.ts) and the sender's connections per origin. */
const PER_ENDPOINT = 4;
const RECEIVER = `
const http = require('node:http');
let n = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET') { res.end(String(n)); return; }
  req.on('data', () => {});
  req.on('end', () => { n++; res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

async function startReceiver(): Promise<{ url: string; child: ChildProcess; received(): Promise<number> }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`webhook receiver exited (${code})`)));
  });
  const url = `http://127.0.0.1:${port}/hooks`;
  return { url, child, received: async () => Number(await (await fetch(url)).text()) };
}

async function succeeded(handle: DatabaseHandle): Promise<number> {
  const [row] = await handle.db.select({ n: count() }).from(webhookDeliveries).where(eq(webhookDeliveries.status, 'SUCCEEDED'));
  return Number(row?.n ?? 0);
}

export async function webhookDeliveryFigures(context: BenchContext): Promise<FigureResult[]> {
  const database = await createBenchDatabase();
  const receiver = await startReceiver();
  let handle: DatabaseHandle | undefined;
  try {
    handle = await openDatabase(database.url ? { url: database.url } : {});
    const { db } = handle;
    const log = createLogger('warn');
    const box = new SecretBox(parseSecretKey(newSecretKey())!);
    const policy = { allowHttp: true, allowLoopback: true, allowPrivate: true };
    const admin = new WebhookAdmin(db, box, policy);
    await admin.create({ url: receiver.url, events: [], merchantId: null, description: 'bench' });

    // The outbox: one event per new order, committed before the engine starts.
    await inParallel(EVENTS, 16, (i) => insertNewOrder(db, { merOrderId: `3194${context.runTag}W${i}`, totalAmount: 100, mid: '898201612345678', tid: '88880001', channel: 'WECHAT_MINI' }));

    const bus = await PostgresBus.start({ db, listener: handle, log });
    const sender = new WebhookSender(policy, 10_000, PER_ENDPOINT);
    const started = performance.now();
    const engine = await WebhookEngine.start({ db, listener: handle, bus, endpoints: admin.endpoints, sender, retryScheduleMs: [5000], timeoutMs: 10_000, perEndpoint: PER_ENDPOINT, log });
    let done = 0;
    try {
      const deadline = started + 120_000;
      while ((done = await succeeded(handle)) < EVENTS) {
        if (performance.now() > deadline) throw new Error(`webhook deliveries: ${done} of ${EVENTS} succeeded after 120 s`);
        await sleep(20);
      }
    } finally {
      await engine.close();
      await bus.close();
    }
    const engineSeconds = (performance.now() - started) / 1000;
    const engineRate = EVENTS / engineSeconds;
    const received = await receiver.received();

    // Baseline: the same POSTs (a body of the delivered size), PER_ENDPOINT in flight, undici.
    const body = JSON.stringify({ type: 'payment.status_changed', timestamp: new Date().toISOString(), data: { merOrderId: `3194${context.runTag}W0`, merchantId: 'default', status: 'NEW_ORDER', previousStatus: null, version: 1, totalAmount: 100, refundedAmount: 0, payTime: null, source: 'MUTATION' } });
    const agent = new Agent({ connections: PER_ENDPOINT });
    const baselineStarted = performance.now();
    try {
      await inParallel(EVENTS, PER_ENDPOINT, async (i) => {
        const res = await request(receiver.url, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'webhook-id': String(i), 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,bench' },
          body,
        });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`);
      });
    } finally {
      await agent.close();
    }
    const baselineRate = EVENTS / ((performance.now() - baselineStarted) / 1000);
    context.log(`webhooks: engine ${engineRate.toFixed(0)} deliveries/s (${done} succeeded, receiver saw ${received}), undici ${baselineRate.toFixed(0)} POSTs/s`);
    return [
      figure({
        name: 'webhook deliveries to a local receiver',
        value: engineRate,
        unit: 'deliveries/s',
        baseline: `the same POSTs straight with undici, ${PER_ENDPOINT} in flight`,
        baselineValue: baselineRate,
        digits: 0,
        notes: `${EVENTS} events in the outbox before the engine starts, one gateway-wide endpoint (per-endpoint cap ${PER_ENDPOINT}), until every delivery is recorded SUCCEEDED; receiver: bare node:http in its own process (saw ${received} POSTs); ${database.driver === 'postgres' ? 'Postgres' : 'PGlite'}`,
      }),
    ];
  } finally {
    await handle?.close();
    await database.drop();
    receiver.child.kill('SIGTERM');
  }
}
