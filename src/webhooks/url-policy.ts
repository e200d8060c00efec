/**
 * Which URLs the gateway may POST webhooks to (SSRF): in live mode `https://` only, to hosts whose
 * every resolved address is public (not private, loopback, link-local, …), unless
 * WEBHOOK_ALLOW_PRIVATE=true; simulator mode also takes `http://` and loopback hosts.
 *
 * Checked twice: when an endpoint is created or changed (a clear error), and at every delivery,
 * inside the connection's own DNS lookup (`policyLookup`), so the address connected to is the
 * address checked: a name that resolved to a public address at creation and to 10.0.0.1 now
 * (DNS rebinding) is refused at delivery.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface UrlPolicy {
  /** `http://` accepted (simulator mode). */
  allowHttp: boolean;
  /** Loopback addresses accepted (simulator mode). */
  allowLoopback: boolean;
  /** Every address accepted (WEBHOOK_ALLOW_PRIVATE=true). */
  allowPrivate: boolean;
}

export const MAX_URL_LENGTH = 2048;

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Not reachable on the public internet, or not meant to be: refused unless allowPrivate. */
const nonPublic = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['64:ff9b::', 96],
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv6');
}

/** Why `address` may not be connected to under `policy`; undefined when it may. */
export function addressRefusal(address: string, policy: UrlPolicy): string | undefined {
  if (policy.allowPrivate) return undefined;
  let family = isIP(address);
  let checked = address;
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) {
    checked = mapped[1] as string;
    family = 4;
  }
  if (family === 0) return `${address} is not an IP address`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (loopback.check(checked, type)) return policy.allowLoopback ? undefined : `${address} is a loopback address`;
  if (nonPublic.check(checked, type)) return `${address} is a private, link-local or reserved address`;
  return undefined;
}

/** What is wrong with `text` as an endpoint URL, before any DNS; undefined when nothing. */
export function urlShapeRefusal(text: string, policy: UrlPolicy): string | undefined {
  if (text.length > MAX_URL_LENGTH) return `url must be at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'url is not a URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    return policy.allowHttp ? 'url must be http:// or https://' : 'url must be https:// (live mode)';
  }
  if (url.username !== '' || url.password !== '') return 'url must not carry credentials';
  if (url.hash !== '') return 'url must not have a fragment';
  const host = bareHost(url);
  if (isIP(host) !== 0) return addressRefusal(host, policy);
  if (host === 'localhost' || host.endsWith('.localhost')) return policy.allowLoopback || policy.allowPrivate ? undefined : 'url must not name a loopback host';
  return undefined;
}

/** The hostname without IPv6 brackets or a trailing root dot (`localhost.` is `localhost`). */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

/**
 * What a caller (and a delivery's `error`) is told when a name's resolution is refused or fails:
 * the same words either way, without the addresses, so the answer is no probe of internal DNS.
 */
export const HOST_NOT_ALLOWED = "the URL's host is not allowed: it must resolve to public addresses (WEBHOOK_ALLOW_PRIVATE)";

/**
 * Resolves `text`'s host and checks every address; a message when any is refused or none
 * resolves. After resolution the message is HOST_NOT_ALLOWED; `detail` hears what was found (for
 * the log only).
 */
export async function urlRefusal(text: string, policy: UrlPolicy, detail: (why: string) => void = () => {}): Promise<string | undefined> {
  const shape = urlShapeRefusal(text, policy);
  if (shape) return shape;
  const host = bareHost(new URL(text));
  if (isIP(host) !== 0 || policy.allowPrivate) return undefined;
  let addresses: LookupAddress[];
  try {
    addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
      dnsLookup(host, { all: true }, (err, found) => (err ? reject(err) : resolve(found))),
    );
  } catch {
    detail(`url's host ${host} does not resolve`);
    return HOST_NOT_ALLOWED;
  }
  for (const { address } of addresses) {
    const refusal = addressRefusal(address, policy);
    if (refusal) {
      detail(`url's host ${host} resolves to a refused address (${refusal})`);
      return HOST_NOT_ALLOWED;
    }
  }
  return undefined;
}

/**
 * A `lookup` for net/tls connect that resolves as usual and then refuses the connection when an
 * address is not allowed: the socket connects only to addresses this function checked.
 */
export function policyLookup(policy: UrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      for (const { address } of list) {
        const refusal = addressRefusal(address, policy);
        if (refusal) return callback(Object.assign(new Error(`refused by the webhook URL policy: ${refusal}`), { code: 'EWEBHOOKPOLICY' }), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}
