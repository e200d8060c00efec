/**
 * Addresses for a server bound to a host. A wildcard bind (0.0.0.0, ::) is not an address anyone
 * can open: http://0.0.0.0:4100 in a QR code means nothing to a phone, and browsers refuse it.
 *
 * - `localUrl`: what this machine's own code connects to (a wildcard bind answers on loopback).
 * - `reachableUrl`: what another device on the network can open (a wildcard bind is reached at
 *   this machine's first LAN IPv4 address; with none, loopback). PUBLIC_URL-style settings win
 *   over both: a tunnel or a name is only known to the person who set it up.
 */
import { networkInterfaces } from 'node:os';

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function isWildcardHost(host: string): boolean {
  return WILDCARDS.has(host.trim());
}

export function localUrl(host: string, port: number): string {
  return urlOf(isWildcardHost(host) ? '127.0.0.1' : host, port);
}

/** The first non-internal IPv4 address of this machine, if it has one. */
export function lanAddress(): string | undefined {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family === 'IPv4' && !entry.internal) return entry.address;
    }
  }
  return undefined;
}

export function reachableUrl(host: string, port: number): string {
  return urlOf(isWildcardHost(host) ? (lanAddress() ?? '127.0.0.1') : host, port);
}
