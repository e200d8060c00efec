/**
 * The webhook URL policy (SSRF): what live and simulator modes accept when an endpoint is saved,
 * and the delivery-time check inside the connection's own DNS lookup (a name that resolves to a
 * refused address is never connected to), with a real undici request.
 */
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { addressRefusal, HOST_NOT_ALLOWED, urlRefusal, urlShapeRefusal, type UrlPolicy } from '../../src/webhooks/url-policy.js';
import { WebhookSender } from '../../src/webhooks/sender.js';
import { Receiver } from './receiver.js';

const live: UrlPolicy = { allowHttp: false, allowLoopback: false, allowPrivate: false };
const simulator: UrlPolicy = { allowHttp: true, allowLoopback: true, allowPrivate: false };
const allowPrivate: UrlPolicy = { ...live, allowPrivate: true };

describe('webhook URL policy', () => {
  it('live mode: https only, no credentials, no private, loopback, link-local or reserved address', () => {
    expect(urlShapeRefusal('https://hooks.example.com/ums', live)).toBeUndefined();
    expect(urlShapeRefusal('https://8.8.8.8/x', live)).toBeUndefined();
    for (const bad of [
      'http://hooks.example.com/x',
      'ftp://hooks.example.com/x',
      'not a url',
      'https://user:pw@hooks.example.com/x',
      'https://127.0.0.1/x',
      'https://10.1.2.3/x',
      'https://172.20.0.1/x',
      'https://192.168.1.1/x',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/x',
      'https://0.0.0.0/x',
      'https://[::1]/x',
      'https://[fe80::1]/x',
      'https://[fd00::1]/x',
      'https://[::ffff:10.0.0.1]/x',
      'https://localhost/x',
      `https://example.com/${'a'.repeat(3000)}`,
    ]) {
      expect(urlShapeRefusal(bad, live), bad).toBeDefined();
    }
  });

  it('simulator mode also takes http:// and loopback, still not private ranges; WEBHOOK_ALLOW_PRIVATE takes them all', () => {
    expect(urlShapeRefusal('http://127.0.0.1:9999/hooks', simulator)).toBeUndefined();
    expect(urlShapeRefusal('http://localhost:9999/hooks', simulator)).toBeUndefined();
    expect(urlShapeRefusal('http://10.0.0.5/hooks', simulator)).toBeDefined();
    expect(urlShapeRefusal('https://10.0.0.5/hooks', allowPrivate)).toBeUndefined();
    expect(addressRefusal('192.168.0.1', allowPrivate)).toBeUndefined();
  });

  it('a name resolving to a loopback address is refused in live mode when saved', async () => {
    expect(await urlRefusal('https://localhost./x', live)).toMatch(/loopback/);
    // The machine's own name resolves to loopback here (/etc/hosts): refused after resolution.
    const own = hostname();
    const addresses = await lookup(own, { all: true }).catch(() => []);
    if (addresses.length > 0 && addresses.every((a) => a.address.startsWith('127.'))) {
      const details: string[] = [];
      expect(await urlRefusal(`https://${own}/x`, live, (d) => details.push(d))).toBe(HOST_NOT_ALLOWED);
      expect(details.join()).toMatch(/refused address/);
    }
    // The caller hears the same words whether the name resolves privately or not at all (no
    // probe of internal DNS); what was found goes to the log only.
    const details: string[] = [];
    const unresolved = await urlRefusal('https://no-such-host.invalid/x', live, (d) => details.push(d));
    expect(unresolved).toBe(HOST_NOT_ALLOWED);
    expect(details.join()).toMatch(/does not resolve/);
  });

  it('at delivery the connection is refused when the name resolves to a refused address (checked in the lookup itself)', async () => {
    const receiver = await new Receiver().start();
    try {
      // `localhost` resolves to loopback: live policy (but http allowed, to reach the test receiver) refuses.
      const strict = new WebhookSender({ allowHttp: true, allowLoopback: false, allowPrivate: false }, 2000);
      const refused = await strict.send(`http://localhost:${receiver.port}/hooks`, { 'content-type': 'application/json' }, '{}');
      expect(refused.ok).toBe(false);
      // The recorded error (shown to callers) names no resolved address.
      expect(refused.error).toBe(HOST_NOT_ALLOWED);
      const unresolved = await strict.send('http://no-such-host.invalid/hooks', {}, '{}');
      expect(unresolved.error).toBe(HOST_NOT_ALLOWED);
      const literal = await strict.send(`http://127.0.0.1:${receiver.port}/hooks`, {}, '{}');
      expect(literal.error).toMatch(/URL policy/);
      expect(receiver.received).toHaveLength(0);
      await strict.close();
      // The simulator's policy reaches it.
      const lenient = new WebhookSender(simulator, 2000);
      const sent = await lenient.send(`http://localhost:${receiver.port}/hooks`, { 'content-type': 'application/json' }, '{}');
      expect(sent).toMatchObject({ ok: true, httpStatus: 200 });
      await lenient.close();
    } finally {
      await receiver.stop();
    }
  });

  it('a redirect is not followed: a 3xx is a failed attempt', async () => {
    const receiver = await new Receiver().start();
    receiver.answer = () => ({ status: 302 });
    try {
      const sender = new WebhookSender(simulator, 2000);
      const sent = await sender.send(receiver.url, {}, '{}');
      expect(sent).toMatchObject({ ok: false, httpStatus: 302 });
      expect(receiver.received).toHaveLength(1);
      await sender.close();
    } finally {
      await receiver.stop();
    }
  });
});
