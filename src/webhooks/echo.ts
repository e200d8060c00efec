/**
 * `npm run webhook-echo`: a tiny webhook receiver for trying webhooks locally. It verifies each
 * request's Standard Webhooks signature with WEBHOOK_SECRET (the `whsec_…` createWebhookEndpoint
 * answered), prints the event, and answers 204 (400 when it does not verify, so the gateway
 * retries and the delivery log shows it).
 *
 *   WEBHOOK_SECRET=whsec_… WEBHOOK_ECHO_PORT=4300 npm run webhook-echo
 */
import { createServer } from 'node:http';
import { verifyWebhook } from './verify.js';

const MAX_BODY = 256 * 1024;

const secret = process.env.WEBHOOK_SECRET?.trim();
if (!secret || !secret.startsWith('whsec_')) {
  console.error('WEBHOOK_SECRET: expected the whsec_… secret createWebhookEndpoint answered');
  process.exit(1);
}
const port = Number(process.env.WEBHOOK_ECHO_PORT ?? 4300);
const host = process.env.WEBHOOK_ECHO_HOST ?? '127.0.0.1';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const id = header('webhook-id');
    const verdict = verifyWebhook(secret, { id, timestamp: header('webhook-timestamp'), signature: header('webhook-signature') }, body);
    if (!verdict.ok) {
      console.log(`✗ ${id ?? '-'} refused: ${verdict.reason}`);
      res.statusCode = 400;
      res.end();
      return;
    }
    try {
      const event = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      const d = event.data;
      console.log(`✓ ${id} ${event.type} ${String(d.merOrderId)} ${String(d.previousStatus ?? '-')} → ${String(d.status)} v${String(d.version)}`);
      console.log(`  ${JSON.stringify(d)}`);
    } catch {
      console.log(`✓ ${id} (not JSON) ${body.slice(0, 200)}`);
    }
    res.statusCode = 204;
    res.end();
  });
});

server.listen(port, host, () => console.log(`webhook-echo listening on http://${host}:${port}/ (verifying with WEBHOOK_SECRET)`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
