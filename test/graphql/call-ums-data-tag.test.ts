/** `callUms(…, dataTag: true)` over GraphQL: the simulator unwraps `{data: …}` and answers as usual. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO } from '../../src/config.js';
import { describeEachDatabase, type TestDatabase } from '../support/db.js';
import { startFullGateway, type FullGateway } from './full-gateway.js';
import { bearer, gql } from './harness.js';

const CALL = `mutation Call($body: JSON!, $tag: Boolean) { callUms(service: "netpay/uac/mini-order", body: $body, dataTag: $tag) }`;

describeEachDatabase('callUms with dataTag', (kind) => {
  let h: TestDatabase;
  let gw: FullGateway;
  beforeAll(async () => {
    h = await kind.open();
    gw = await startFullGateway(h, { apiKeys: 'k_admin:admin' });
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('creates an order with a wrapped body, and refuses the same id again (the simulator read it)', async () => {
    const merOrderId = `${DEMO.sourceId}${Date.now()}CT`;
    const body = { mid: DEMO.mid, tid: DEMO.tid, instMid: 'MINIDEFAULT', merOrderId, totalAmount: 100 };
    const first = await gql<{ callUms: Record<string, unknown> }>(gw.url, CALL, { body, tag: true }, bearer('k_admin'));
    expect(first.errors).toBeUndefined();
    expect(first.data!.callUms).toMatchObject({ errCode: 'SUCCESS', merOrderId, status: 'NEW_ORDER' });
    expect(gw.sim.order(merOrderId)?.totalAmount).toBe(100);
    const again = await gql<{ callUms: Record<string, unknown> }>(gw.url, CALL, { body, tag: false }, bearer('k_admin'));
    expect(again.data!.callUms).toMatchObject({ errCode: 'DUP_ORDER' });
  });
});
