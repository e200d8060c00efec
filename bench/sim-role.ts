/** The UMS simulator alone (figure 4's server), with the demo credentials, on an ephemeral port. */
import { DEMO } from '../src/config.js';
import { startSimulator } from '../src/sim/simulator.js';
import type { RunningRole } from './child.js';

export async function startSimRole(): Promise<RunningRole> {
  const sim = await startSimulator({
    port: 0,
    credentials: { ...DEMO },
    // No order is paid in this bench, so nothing is ever delivered here.
    notifyUrl: 'http://127.0.0.1:9/notify/ums',
  });
  return { url: sim.url, commands: {}, close: () => sim.close() };
}
