/**
 * Signing and verifying agree with the `standardwebhooks` package both ways, and the
 * `webhook-echo` receiver (run as its own process) verifies, prints and answers as documented.
 */
import { spawn } from 'node:child_process';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, webhookHeaders } from '../../src/webhooks/signing.js';
import { verifyWebhook } from '../../src/webhooks/verify.js';
import { freePort, until } from '../app/support.js';

describe('Standard Webhooks signatures', () => {
  it('ours verify with standardwebhooks, and theirs with ours; a changed byte does not', () => {
    const secret = newWebhookSecret();
    const body = '{"type":"payment.status_changed","data":{"merOrderId":"31940001"}}';
    const now = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders([secret], '42', now, body);
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    const theirs = new Webhook(secret).sign('43', new Date(now * 1000), body);
    expect(verifyWebhook(secret, { id: '43', timestamp: String(now), signature: theirs }, body)).toEqual({ ok: true });
    expect(verifyWebhook(secret, { id: '43', timestamp: String(now), signature: theirs }, body.replace('0001', '0002')).ok).toBe(false);
    expect(verifyWebhook(secret, { id: '43', timestamp: String(now - 3600), signature: theirs }, body).ok).toBe(false);
    expect(verifyWebhook(newWebhookSecret(), { id: '42', timestamp: String(now), signature: headers['webhook-signature'] }, body).ok).toBe(false);
  });
});

describe('npm run webhook-echo', () => {
  it('verifies with WEBHOOK_SECRET, prints the event, answers 204 (400 when the signature is wrong)', async () => {
    const secret = newWebhookSecret();
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/webhooks/echo.ts'], { env: { ...process.env, WEBHOOK_SECRET: secret, WEBHOOK_ECHO_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await until('the echo receiver listening', () => (out.includes('listening') ? true : undefined), 30_000);
      const body = JSON.stringify({ type: 'payment.status_changed', timestamp: new Date().toISOString(), data: { merOrderId: '3194E2E', status: 'TRADE_SUCCESS', previousStatus: 'WAIT_BUYER_PAY', version: 3 } });
      const headers = webhookHeaders([secret], '77', Math.floor(Date.now() / 1000), body);
      const good = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers, body });
      expect(good.status).toBe(204);
      const bad = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: webhookHeaders([newWebhookSecret()], '78', Math.floor(Date.now() / 1000), body), body });
      expect(bad.status).toBe(400);
      await until('both printed', () => (out.includes('✗ 78') ? true : undefined));
      expect(out).toContain('✓ 77 payment.status_changed 3194E2E WAIT_BUYER_PAY → TRADE_SUCCESS v3');
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
});
