/** `npm run sim` and `npm start` build the simulator from the same Config as the gateway's client. */
import { describe, expect, it } from 'vitest';
import { DEMO, loadConfig } from '../../src/config.js';
import { simulatorOptionsFromConfig } from '../../src/sim/from-config.js';
import { DEFAULT_NOTIFY_BACKOFF_MS, startSimulator } from '../../src/sim/simulator.js';
import { createMiniOrder } from './support/fixture.js';

describe('simulatorOptionsFromConfig', () => {
  it('uses the demo credentials, UMS_SIM_PORT and the back-off by default', () => {
    const options = simulatorOptionsFromConfig(loadConfig({}));
    expect(options.credentials).toEqual({ ...DEMO });
    expect(options.port).toBe(4100);
    expect(options.notifyBackoffMs).toEqual(DEFAULT_NOTIFY_BACKOFF_MS);
    expect(DEFAULT_NOTIFY_BACKOFF_MS.reduce((a, b) => a + b, 0) / 3_600_000).toBeGreaterThan(23);
    expect(options.notifyUrl).toBe('http://127.0.0.1:4000/notify/ums');
  });

  it('follows UMS_* overrides, and the result serves requests signed with them', async () => {
    const config = loadConfig({ UMS_APP_ID: 'app-2', UMS_APP_KEY: 'key-2', UMS_SIM_NOTIFY_BACKOFF_MS: '0,10' });
    const options = simulatorOptionsFromConfig(config);
    expect(options.credentials.appId).toBe('app-2');
    expect(options.notifyBackoffMs).toEqual([0, 10]);
    const sim = await startSimulator({ ...options, port: 0 });
    try {
      // The test helper signs with the demo pair, which this simulator no longer accepts.
      const { answer } = await createMiniOrder(sim, undefined);
      expect(answer.json.errCode).toBe('BAD_SIGN');
    } finally {
      await sim.close();
    }
  });
});
