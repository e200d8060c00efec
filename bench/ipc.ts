/**
 * How the bench driver talks to the processes it measures. Every server under test (the gateway,
 * each baseline, the UMS simulator) runs in a child process of its own, so that the load
 * generator's CPU and memory are never counted as the server's. Messages go over the fork IPC
 * channel: the child says `ready` with its URL, then answers numbered commands.
 */

export type ChildRole = 'gateway' | 'notify-baseline' | 'query-baseline' | 'graphql-ws-baseline' | 'subscribers' | 'sim';

export interface ChildSpec {
  role: ChildRole;
  /** postgres://… of the bench database; unset: embedded PGlite (in memory) inside the child. */
  databaseUrl?: string;
  /**
   * Gateway only: GATEWAY_API_KEYS for the run (keys configured: no open mode, every request must
   * carry a key). Unset: open mode (simulator without keys), as the other figures run.
   */
  gatewayApiKeys?: string;
}

export interface CommandMessage {
  id: number;
  command: string;
  args?: unknown;
}

export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'failed'; error: string }
  | { type: 'answer'; id: number; ok: true; value: unknown }
  | { type: 'answer'; id: number; ok: false; error: string };

/** process.memoryUsage() after forced garbage collection, in bytes. */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
}

/** Orders to create before a run: `${prefix}${i}` for i in [0, count). */
export interface SeedArgs {
  prefix: string;
  count: number;
}
