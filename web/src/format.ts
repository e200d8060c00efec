/** Small pure helpers of the storefront: money, times, what a status means, reachable links. */
import type { PaymentStatus } from '../../src/graphql/client/index.js';

export function yuan(fen: number): string {
  return `¥${(fen / 100).toFixed(2)}`;
}

export function clock(iso: string | Date): string {
  const at = typeof iso === 'string' ? new Date(iso) : iso;
  return at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}

export type Tone = 'ok' | 'wait' | 'bad' | 'neutral';

/** What each status means to a shopper, and its colour. */
export const STATUS_TEXT: Record<PaymentStatus, { text: string; tone: Tone }> = {
  NEW_ORDER: { text: 'Waiting for the shopper to open the cashier.', tone: 'wait' },
  WAIT_BUYER_PAY: { text: 'The shopper is paying…', tone: 'wait' },
  TRADE_SUCCESS: { text: 'Paid. The shop can hand over the coffee.', tone: 'ok' },
  TRADE_REFUND: { text: 'Refunded: the money went back to the shopper.', tone: 'neutral' },
  TRADE_CLOSED: { text: 'Closed: the shopper cancelled, or the order expired. Nothing was paid.', tone: 'bad' },
  UNKNOWN: { text: 'Outcome unknown for now: the gateway is asking UMS and will settle it.', tone: 'wait' },
};

const LOCAL_HOSTS = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0|\[::\])$/;

/**
 * A link the shopper's device can open. The simulator's address is set by UMS_SIM_PUBLIC_URL (or
 * found on the LAN when the gateway listens on 0.0.0.0); should the link still name a loopback or
 * wildcard host while this page was opened at another one, that other host is this same machine
 * as the person sees it, so the link gets it (same port and path).
 */
export function reachable(link: string): string {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return link;
  }
  if (!LOCAL_HOSTS.test(url.hostname) || LOCAL_HOSTS.test(location.hostname)) return link;
  url.hostname = location.hostname;
  return url.toString();
}
