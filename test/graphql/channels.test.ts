/**
 * The channels added for official accounts and apps (WECHAT_JSAPI, ALIPAY_JSAPI, APP_WECHAT,
 * APP_ALIPAY, APP_UNIONPAY), end to end: GraphQL → commands → signed client → the simulator,
 * which checks the service, instMid and tradeType as UMS does and answers the pay request; then
 * the buyer pays and the notification lands. Missing required inputs are named.
 */
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../support/db.js';
import { fullGatewayForSuite } from './full-gateway.js';
import { gql } from './harness.js';

const CREATE = `mutation Create($input: CreatePaymentInput!) {
  createPayment(input: $input) { payParams qrCode payUrl payment { merOrderId status channel } }
}`;
const READ = 'query Read($id: ID!) { payment(merOrderId: $id) { status paidAmount } }';

interface Created {
  createPayment: { payParams: Record<string, unknown> | null; payment: { merOrderId: string; status: string; channel: string } };
}

const CASES = [
  { channel: 'WECHAT_JSAPI', extra: { subOpenId: 'oQx9a5bC7dE1fG3hJ5kL7mN9pQr', subAppId: 'wx0fficia1acc0unt' }, path: '/v1/netpay/wx/unified-order', instMid: 'YUEDANDEFAULT', keys: ['appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign'] },
  { channel: 'ALIPAY_JSAPI', extra: { userId: '2088102175953034' }, path: '/v1/netpay/trade/create', instMid: 'YUEDANDEFAULT', keys: ['tradeNO'] },
  { channel: 'APP_WECHAT', extra: { subAppId: 'wxapp0000000001' }, path: '/v1/netpay/wx/app-pre-order', instMid: 'APPDEFAULT', keys: ['appid', 'partnerid', 'prepayid', 'package', 'noncestr', 'timestamp', 'sign'] },
  { channel: 'APP_ALIPAY', extra: {}, path: '/v1/netpay/trade/app-pre-order', instMid: 'APPDEFAULT', keys: ['qrCode'] },
  { channel: 'APP_UNIONPAY', extra: {}, path: '/v1/netpay/uac/app-order', instMid: 'APPDEFAULT', keys: ['tn'] },
] as const;

describeEachDatabase('JSAPI and in-app channels', (kind) => {
  const suite = fullGatewayForSuite(kind);

  for (const c of CASES) {
    it(`${c.channel}: ${c.path} with instMid ${c.instMid}, the pay request comes back, the payment is paid`, async () => {
      const created = await gql<Created>(suite.gw.url, CREATE, { input: { channel: c.channel, totalAmount: 600, ...c.extra } });
      expect(created.errors).toBeUndefined();
      const { payment, payParams } = created.data!.createPayment;
      expect(payment).toMatchObject({ channel: c.channel, status: 'NEW_ORDER' });
      expect(Object.keys(payParams ?? {}).sort()).toEqual([...c.keys].sort());
      if (c.channel === 'WECHAT_JSAPI') expect(payParams!.appId).toBe('wx0fficia1acc0unt');
      const atUms = suite.gw.sim.order(payment.merOrderId)!;
      expect(atUms).toMatchObject({ path: c.path, instMid: c.instMid, totalAmount: 600 });

      suite.gw.sim.pay(payment.merOrderId);
      await suite.gw.sim.waitForDelivery((d) => d.merOrderId === payment.merOrderId && d.state === 'delivered');
      const read = await gql<{ payment: { status: string; paidAmount: number } }>(suite.gw.url, READ, { id: payment.merOrderId });
      expect(read.data!.payment).toEqual({ status: 'TRADE_SUCCESS', paidAmount: 600 });
    });
  }

  it('names the missing input, and stores and sends nothing', async () => {
    for (const [channel, field] of [['WECHAT_JSAPI', 'subOpenId'], ['ALIPAY_JSAPI', 'userId'], ['APP_WECHAT', 'subAppId']] as const) {
      const before = suite.gw.sim.orders().length;
      const res = await gql(suite.gw.url, CREATE, { input: { channel, totalAmount: 100 } });
      expect(res.errors?.[0]?.extensions?.code, channel).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toContain(`${field} (`);
      expect(res.errors?.[0]?.message).toContain(channel);
      expect(suite.gw.sim.orders().length).toBe(before);
    }
  });
});
