/** A simulator with the demo credentials and short back-offs, plus a merchant receiver. */
import { startSimulator, type SimulatorOptions, type UmsSimulator } from '../../../src/sim/simulator.js';
import { CREDS, call, orderId, type RawAnswer } from './raw.js';
import { startReceiver, type Receiver } from './receiver.js';

export interface Fixture {
  sim: UmsSimulator;
  receiver: Receiver;
  close(): Promise<void>;
}

export async function startFixture(options: Partial<SimulatorOptions> = {}): Promise<Fixture> {
  const receiver = await startReceiver();
  const sim = await startSimulator({ credentials: CREDS, notifyBackoffMs: [0, 20, 40], ...options });
  return {
    sim,
    receiver,
    close: async () => {
      await sim.close();
      await receiver.close();
    },
  };
}

/** Creates a WeChat mini-program order (defaults: 1250 fen, notifying `notifyUrl`). */
export async function createMiniOrder(
  sim: UmsSimulator,
  notifyUrl: string | undefined,
  extra: Record<string, unknown> = {},
): Promise<{ merOrderId: string; answer: RawAnswer }> {
  const merOrderId = (extra.merOrderId as string | undefined) ?? orderId();
  const answer = await call(sim.url, '/v1/netpay/wx/unified-order', {
    instMid: 'MINIDEFAULT',
    tradeType: 'MINI',
    subAppId: 'wx1a2b3c4d5e6f7a8b',
    subOpenId: 'oQx9a5bC7dE1fG3hJ5kL7mN9pQr',
    merOrderId,
    totalAmount: 1250,
    orderDesc: '拿铁×2',
    ...(notifyUrl ? { notifyUrl } : {}),
    ...extra,
  });
  return { merOrderId, answer };
}
