/**
 * Entry of every measured process (see ipc.ts). `node dist/bench/child.js '<ChildSpec JSON>'`,
 * forked by children.ts with `--expose-gc` so that memory can be read after a full collection.
 */
import type { ChildMessage, ChildSpec, CommandMessage, MemorySample } from './ipc.js';
import { startGraphqlWsBaseline } from './baselines/graphql-ws-baseline.js';
import { startNotifyBaseline } from './baselines/notify-baseline.js';
import { startQueryBaseline } from './baselines/query-baseline.js';
import { startGatewayRole } from './gateway-role.js';
import { startSimRole } from './sim-role.js';
import { startSubscriberRole } from './subscriber-role.js';

/** What a role hands back: where it listens ('' for a load generator), the commands it answers, and how it stops. */
export interface RunningRole {
  url: string;
  commands: Record<string, (args: unknown) => Promise<unknown>>;
  close(): Promise<void>;
}

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

async function memory(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}

async function start(spec: ChildSpec): Promise<RunningRole> {
  switch (spec.role) {
    case 'gateway':
      return startGatewayRole(spec);
    case 'notify-baseline':
      return startNotifyBaseline(spec);
    case 'query-baseline':
      return startQueryBaseline(spec);
    case 'graphql-ws-baseline':
      return startGraphqlWsBaseline(spec);
    case 'subscribers':
      return startSubscriberRole();
    case 'sim':
      return startSimRole();
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
  let role: RunningRole;
  try {
    role = await start(spec);
  } catch (err) {
    send({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
  const commands: RunningRole['commands'] = {
    ...role.commands,
    memory: () => memory(),
    /** CPU time this process has used so far (user + system), in microseconds. */
    cpu: () => {
      const { user, system } = process.cpuUsage();
      return Promise.resolve(user + system);
    },
    close: async () => {
      await role.close();
      // Answer first, then leave: a clean exit lets --cpu-prof write its profile.
      setImmediate(() => process.exit(0));
      return true;
    },
  };
  process.on('message', (raw: CommandMessage) => {
    const run = commands[raw.command];
    if (!run) {
      send({ type: 'answer', id: raw.id, ok: false, error: `unknown command ${raw.command}` });
      return;
    }
    run(raw.args).then(
      (value) => send({ type: 'answer', id: raw.id, ok: true, value }),
      (err: unknown) => send({ type: 'answer', id: raw.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  // The driver going away ends us too: no orphaned servers.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url: role.url });
}

void main();
