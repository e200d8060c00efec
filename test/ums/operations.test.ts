import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { UmsClient } from '../../src/ums/client.js';
import { UmsBusinessError, UmsConfigError, UmsInputError } from '../../src/ums/errors.js';
import {
  H5_PATHS,
  PAYMENT_CHANNELS,
  UmsOperations,
  instMidFor,
  isBillsChannel,
  isH5Channel,
  merchantFromConfig,
  type PaymentChannel,
} from '../../src/ums/operations.js';
import { peerBeijingCompact, startUmsPeer, type UmsPeer } from '../support/ums-peer.js';

const APP_ID = '10037e6f6a4e6da4016a62a47e51018c';
const APP_KEY = 'ops-test-key';
const MERCHANT = { mid: '898201612345678', tid: '88880001', notifyUrl: 'https://shop.example/notify/ums', sourceId: '3194' };
const ORDER = '319420240618103015123AbCdEf';

let peer: UmsPeer;
let client: UmsClient;
let ops: UmsOperations;

beforeEach(async () => {
  peer = await startUmsPeer({ appId: APP_ID, appKey: APP_KEY });
  client = new UmsClient({ baseUrl: peer.baseUrl, appId: APP_ID, appKey: APP_KEY });
  ops = new UmsOperations(client, MERCHANT);
});

afterEach(async () => {
  await client.close();
  await peer.close();
});

const miniPayRequest = { appId: 'wx0123', timeStamp: '1718677815', nonceStr: 'abc', package: 'prepay_id=wx1', signType: 'RSA', paySign: 'sig' };

function only(path: string) {
  const reqs = peer.requests.filter((r) => r.path === path);
  expect(reqs).toHaveLength(1);
  const req = reqs[0]!;
  expect(req.auth).toMatchObject({ ok: true });
  return req.json!;
}

describe('create, per channel', () => {
  it('WECHAT_MINI: unified-order, tradeType MINI, MINIDEFAULT, subOpenId/subAppId; answers payParams', async () => {
    peer.on('/v1/netpay/wx/unified-order', () => ({
      json: { errCode: 'SUCCESS', status: 'NEW_ORDER', targetSys: 'WXPay', targetOrderId: '4200001', seqId: 'S1', totalAmount: '100', miniPayRequest },
    }));
    const created = await ops.createOrder('WECHAT_MINI', {
      merOrderId: ORDER,
      totalAmount: 100,
      subOpenId: 'o-openid',
      subAppId: 'wxminiapp',
      orderDesc: '拿铁',
      expireTime: new Date('2024-06-18T03:00:00Z'),
    });
    const body = only('/v1/netpay/wx/unified-order');
    expect(body).toMatchObject({
      mid: MERCHANT.mid,
      tid: MERCHANT.tid,
      instMid: 'MINIDEFAULT',
      tradeType: 'MINI',
      merOrderId: ORDER,
      totalAmount: 100,
      subOpenId: 'o-openid',
      subAppId: 'wxminiapp',
      notifyUrl: MERCHANT.notifyUrl,
      orderDesc: '拿铁',
      expireTime: '2024-06-18 11:00:00',
    });
    expect(typeof body.totalAmount).toBe('number');
    expect(body.requestTimestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(created).toMatchObject({
      channel: 'WECHAT_MINI',
      merOrderId: ORDER,
      instMid: 'MINIDEFAULT',
      totalAmount: 100,
      status: 'NEW_ORDER',
      targetOrderId: '4200001',
      targetSys: 'WXPay',
      seqId: 'S1',
      payParams: miniPayRequest,
    });
    expect(created.response?.totalAmount).toBe(100); // "100" read leniently
  });

  it('ALIPAY_MINI: trade/create with userId; payParams carry the Alipay trade number', async () => {
    peer.on('/v1/netpay/trade/create', () => ({ json: { errCode: 'SUCCESS', status: 'WAIT_BUYER_PAY', targetOrderId: '2024061822001' } }));
    const created = await ops.createOrder('ALIPAY_MINI', { merOrderId: ORDER, totalAmount: 1, userId: '2088000' });
    expect(only('/v1/netpay/trade/create')).toMatchObject({ instMid: 'MINIDEFAULT', userId: '2088000', totalAmount: 1 });
    expect(created.payParams).toEqual({ tradeNO: '2024061822001' });
  });

  it('UNIONPAY_MINI: uac/mini-order, tradeType MINI', async () => {
    peer.on('/v1/netpay/uac/mini-order', () => ({ json: { errCode: 'SUCCESS', miniPayRequest: JSON.stringify({ tn: '123' }) } }));
    const created = await ops.createOrder('UNIONPAY_MINI', { merOrderId: ORDER, totalAmount: 5 });
    expect(only('/v1/netpay/uac/mini-order')).toMatchObject({ instMid: 'MINIDEFAULT', tradeType: 'MINI' });
    expect(created.payParams).toEqual({ tn: '123' });
  });

  it('QR_CODE: bills/get-qrcode, QRPAYDEFAULT, billNo = merOrderId, billDate today in Beijing', async () => {
    peer.on('/v1/netpay/bills/get-qrcode', (req) => ({
      json: { errCode: 'SUCCESS', billQRCode: 'https://qr.chinaums.com/bills/qrCode.do?id=31940001', qrCodeId: '31940001', billNo: req.json?.billNo, billDate: req.json?.billDate },
    }));
    const created = await ops.createOrder('QR_CODE', { merOrderId: ORDER, totalAmount: 2500, orderDesc: '停车费' });
    const body = only('/v1/netpay/bills/get-qrcode');
    const today = peerBeijingCompact(new Date());
    expect(body).toMatchObject({
      instMid: 'QRPAYDEFAULT',
      billNo: ORDER,
      billDate: `${today.slice(0, 4)}-${today.slice(4, 6)}-${today.slice(6, 8)}`,
      totalAmount: 2500,
      billDesc: '停车费',
    });
    expect(body.merOrderId).toBeUndefined();
    expect(created).toMatchObject({ channel: 'QR_CODE', instMid: 'QRPAYDEFAULT', qrCode: 'https://qr.chinaums.com/bills/qrCode.do?id=31940001', qrCodeId: '31940001', billDate: body.billDate });
  });

  const h5: [PaymentChannel, string][] = [
    ['H5_WECHAT', '/v1/netpay/wxpay/h5-pay'],
    ['H5_ALIPAY', '/v1/netpay/trade/h5-pay'],
    ['H5_UNIONPAY', '/v1/netpay/uac/order'],
  ];
  for (const [channel, path] of h5) {
    it(`${channel}: a signed OPEN-FORM-PARAM URL to ${path}, verified by the peer, no HTTP call`, async () => {
      const created = await ops.createOrder(channel, {
        merOrderId: ORDER,
        totalAmount: 990,
        // Every character URL encoding must carry ('&' and '=' are refused in echoed text).
        orderDesc: '会员 年卡 + 礼包/A?1%#',
        returnUrl: 'https://shop.example/done?x=1&y=2',
      });
      expect(peer.requests).toHaveLength(0);
      expect(created).toMatchObject({ channel, instMid: 'H5DEFAULT', merOrderId: ORDER, totalAmount: 990 });
      const verdict = peer.verifyFormUrl(created.payUrl!);
      expect(verdict.ok).toBe(true);
      expect(verdict.path).toBe(path);
      expect(created.payUrl!.startsWith(`${peer.baseUrl}${path}?authorization=OPEN-FORM-PARAM&appId=`)).toBe(true);
      expect(verdict.content).toMatchObject({
        mid: MERCHANT.mid,
        tid: MERCHANT.tid,
        instMid: 'H5DEFAULT',
        merOrderId: ORDER,
        totalAmount: 990,
        // Every character URL encoding must carry ('&' and '=' are refused in echoed text).
        orderDesc: '会员 年卡 + 礼包/A?1%#',
        returnUrl: 'https://shop.example/done?x=1&y=2',
        notifyUrl: MERCHANT.notifyUrl,
        requestTimestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
      });
      // URLEncoder style: spaces as '+', never %20
      expect(created.payUrl).not.toContain('%20');
      // a tampered URL does not verify
      expect(peer.verifyFormUrl(created.payUrl!.replace('totalAmount%22%3A990', 'totalAmount%22%3A1')).ok).toBe(false);
    });
  }

  it('checks channel requirements and ids before sending anything', async () => {
    await expect(ops.createOrder('WECHAT_MINI', { merOrderId: ORDER, totalAmount: 1 })).rejects.toThrow(/subOpenId/);
    await expect(ops.createOrder('ALIPAY_MINI', { merOrderId: ORDER, totalAmount: 1 })).rejects.toThrow(/userId/);
    await expect(ops.createOrder('QR_CODE', { merOrderId: '1017' + ORDER.slice(4), totalAmount: 1 })).rejects.toThrow(/3194/);
    await expect(ops.createOrder('UNIONPAY_MINI', { merOrderId: ORDER, totalAmount: 0 })).rejects.toBeInstanceOf(UmsInputError);
    await expect(ops.createOrder('UNIONPAY_MINI', { merOrderId: ORDER, totalAmount: 1.5 })).rejects.toBeInstanceOf(UmsInputError);
    await expect(ops.createOrder('NOPE' as PaymentChannel, { merOrderId: ORDER, totalAmount: 1 })).rejects.toBeInstanceOf(UmsInputError);
    expect(peer.requests).toHaveLength(0);
  });

  it('a business refusal of a create surfaces as UmsBusinessError', async () => {
    peer.on('/v1/netpay/wx/unified-order', () => ({ json: { errCode: 'DUP_ORDER', errMsg: '订单重复' } }));
    const error = await ops.createOrder('WECHAT_MINI', { merOrderId: ORDER, totalAmount: 1, subOpenId: 'o' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UmsBusinessError);
    expect((error as UmsBusinessError).outcomeUnknown).toBe(true);
  });
});

describe('what UMS echoes back signed, and what it takes as ids and amounts', () => {
  // UMS joins signed fields with '&' unescaped: a raw '&' or '=' in text it echoes back could be
  // re-split into a field it never sent (PROTOCOL.md §4.2).
  const hostile = ['a&status=TRADE_SUCCESS', 'A=1', '&'];

  it('refuses a raw & or = in orderDesc, attachedData, srcReserve, msgId and billDesc, on every create, before sending', async () => {
    for (const text of hostile) {
      for (const field of ['orderDesc', 'attachedData', 'srcReserve', 'msgId'] as const) {
        for (const channel of ['WECHAT_MINI', 'QR_CODE', 'H5_ALIPAY'] as const) {
          if (channel === 'QR_CODE' && field === 'orderDesc') continue; // sent as billDesc, below
          const input = { merOrderId: ORDER, totalAmount: 1, subOpenId: 'o1', [field]: text };
          const error = await ops.createOrder(channel, input).catch((e: unknown) => e);
          expect(error, `${channel} ${field}`).toBeInstanceOf(UmsInputError);
          expect((error as Error).message).toContain(field);
        }
      }
      await expect(ops.createOrder('QR_CODE', { merOrderId: ORDER, totalAmount: 1, billDesc: text })).rejects.toThrow(/billDesc/);
      await expect(ops.createOrder('QR_CODE', { merOrderId: ORDER, totalAmount: 1, orderDesc: text })).rejects.toThrow(/billDesc/);
      // Through `extra` too: the check reads the body as it would be sent.
      await expect(ops.createOrder('UNIONPAY_MINI', { merOrderId: ORDER, totalAmount: 1, extra: { attachedData: text } })).rejects.toBeInstanceOf(UmsInputError);
    }
    expect(peer.requests).toHaveLength(0);
  });

  it('refuses a raw & or = in refundDesc (netpay and bills refunds) before sending', async () => {
    for (const text of hostile) {
      await expect(ops.refund({ merOrderId: ORDER, refundOrderId: '3194R0000000001', refundAmount: 1, refundDesc: text }, 'MINIDEFAULT')).rejects.toThrow(/refundDesc/);
      await expect(ops.billsRefund({ billNo: ORDER, billDate: '2024-06-18', refundOrderId: '3194R0000000001', refundAmount: 1, refundDesc: text })).rejects.toThrow(/refundDesc/);
    }
    expect(peer.requests).toHaveLength(0);
  });

  it('sends free text without & or = as it is, punctuation and all', async () => {
    const text = '退款：缺货 (1/2) 50% + 运费?#';
    await ops.refund({ merOrderId: ORDER, refundOrderId: '3194R0000000001', refundAmount: 1, refundDesc: text }, 'MINIDEFAULT');
    expect(only('/v1/netpay/refund')).toMatchObject({ refundDesc: text });
  });

  it('refuses amounts that are not whole fen from 1 to 100000000, on creates and refunds', async () => {
    for (const fen of [0, -1, 1.5, 0.01, 100_000_001, Number.NaN]) {
      await expect(ops.createOrder('WECHAT_MINI', { merOrderId: ORDER, totalAmount: fen, subOpenId: 'o1' })).rejects.toBeInstanceOf(UmsInputError);
      await expect(ops.refund({ merOrderId: ORDER, refundOrderId: '3194R0000000001', refundAmount: fen }, 'MINIDEFAULT')).rejects.toBeInstanceOf(UmsInputError);
      await expect(ops.billsRefund({ billNo: ORDER, billDate: '2024-06-18', refundOrderId: '3194R0000000001', refundAmount: fen })).rejects.toBeInstanceOf(UmsInputError);
    }
    expect(peer.requests).toHaveLength(0);
  });

  it('takes ids of 6 to 64 letters and digits, the 36 characters of real UMS ids included', async () => {
    const id36 = '3194' + '20240618103015123' + 'AbCdEfGhIjKlMnO';
    expect(id36).toHaveLength(36);
    await ops.createOrder('UNIONPAY_MINI', { merOrderId: id36, totalAmount: 1 });
    await ops.refund({ merOrderId: id36, refundOrderId: '3194R1', refundAmount: 1 }, 'MINIDEFAULT');
    await ops.refund({ merOrderId: id36, refundOrderId: '3194'.padEnd(64, 'R'), refundAmount: 1 }, 'MINIDEFAULT');
    expect(peer.requests).toHaveLength(3);
    for (const bad of ['3194R', '3194'.padEnd(65, 'R'), '3194-0001']) {
      await expect(ops.refund({ merOrderId: id36, refundOrderId: bad, refundAmount: 1 }, 'MINIDEFAULT')).rejects.toThrow(/6 to 64 letters and digits/);
    }
    expect(peer.requests).toHaveLength(3);
  });
});

describe('channel helpers', () => {
  it('map every channel to its instMid and family', () => {
    expect(PAYMENT_CHANNELS.map((c) => [c, instMidFor(c), isBillsChannel(c), isH5Channel(c)])).toEqual([
      ['WECHAT_MINI', 'MINIDEFAULT', false, false],
      ['ALIPAY_MINI', 'MINIDEFAULT', false, false],
      ['UNIONPAY_MINI', 'MINIDEFAULT', false, false],
      ['QR_CODE', 'QRPAYDEFAULT', true, false],
      ['H5_WECHAT', 'H5DEFAULT', false, true],
      ['H5_ALIPAY', 'H5DEFAULT', false, true],
      ['H5_UNIONPAY', 'H5DEFAULT', false, true],
      ['WECHAT_JSAPI', 'YUEDANDEFAULT', false, false],
      ['ALIPAY_JSAPI', 'YUEDANDEFAULT', false, false],
      ['APP_WECHAT', 'APPDEFAULT', false, false],
      ['APP_ALIPAY', 'APPDEFAULT', false, false],
      ['APP_UNIONPAY', 'APPDEFAULT', false, false],
    ]);
    expect(Object.keys(H5_PATHS)).toHaveLength(3);
  });
});

describe('query, refund, refund-query, close', () => {
  it('query: instMid and merOrderId (or targetOrderId); amounts read from numbers or numeric strings', async () => {
    peer.on('/v1/netpay/query', () => ({
      json: {
        errCode: 'SUCCESS',
        status: 'TRADE_SUCCESS',
        totalAmount: '100',
        buyerPayAmount: 90,
        receiptAmount: ' 90 ',
        couponAmount: 'ten',
        payTime: '2024-06-18 10:31:00',
        settleDate: '2024-06-18',
        targetOrderId: '4200001',
        seqId: 123456,
        errInfo: '查询成功',
      },
    }));
    const state = await ops.query({ merOrderId: ORDER }, 'MINIDEFAULT');
    expect(only('/v1/netpay/query')).toMatchObject({ mid: MERCHANT.mid, tid: MERCHANT.tid, instMid: 'MINIDEFAULT', merOrderId: ORDER });
    expect(state).toMatchObject({
      errCode: 'SUCCESS',
      errMsg: '查询成功',
      status: 'TRADE_SUCCESS',
      totalAmount: 100,
      buyerPayAmount: 90,
      receiptAmount: 90,
      payTime: '2024-06-18 10:31:00',
      settleDate: '2024-06-18',
      targetOrderId: '4200001',
      seqId: '123456',
    });
    expect(state.couponAmount).toBeUndefined();
    expect(state.raw.couponAmount).toBe('ten');

    await ops.query({ targetOrderId: '4200001' }, 'H5DEFAULT');
    expect(peer.requests[1]!.json).toMatchObject({ targetOrderId: '4200001', instMid: 'H5DEFAULT' });
    expect(peer.requests[1]!.json?.merOrderId).toBeUndefined();
  });

  it('refund: refundOrderId required, amounts in fen; refundStatus read', async () => {
    peer.on('/v1/netpay/refund', (req) => ({
      json: { errCode: 'SUCCESS', refundStatus: 'SUCCESS', refundOrderId: req.json?.refundOrderId, refundAmount: '40', status: 'TRADE_REFUND', totalAmount: 100 },
    }));
    const refund = await ops.refund({ merOrderId: ORDER, refundOrderId: '3194R0000000001', refundAmount: 40, refundDesc: '退一杯' }, 'MINIDEFAULT');
    expect(only('/v1/netpay/refund')).toMatchObject({
      instMid: 'MINIDEFAULT',
      merOrderId: ORDER,
      refundOrderId: '3194R0000000001',
      refundAmount: 40,
      refundDesc: '退一杯',
    });
    expect(refund).toMatchObject({ refundStatus: 'SUCCESS', refundOrderId: '3194R0000000001', refundAmount: 40, status: 'TRADE_REFUND', totalAmount: 100 });
    await expect(ops.refund({ merOrderId: ORDER, refundOrderId: '', refundAmount: 1 }, 'MINIDEFAULT')).rejects.toThrow(/refundOrderId/);
    await expect(ops.refund({ merOrderId: ORDER, refundOrderId: 'XXXXR000001', refundAmount: 1 }, 'MINIDEFAULT')).rejects.toThrow(/3194/);
    expect(peer.requests).toHaveLength(1);
  });

  it('refund-query: the original merOrderId plus refundOrderId', async () => {
    peer.on('/v1/netpay/refund-query', () => ({ json: { errCode: 'SUCCESS', refundStatus: 'PROCESSING', refundAmount: 40 } }));
    const answer = await ops.refundQuery({ merOrderId: ORDER, refundOrderId: '3194R0000000001' }, 'MINIDEFAULT');
    expect(only('/v1/netpay/refund-query')).toMatchObject({ merOrderId: ORDER, refundOrderId: '3194R0000000001', instMid: 'MINIDEFAULT' });
    expect(answer).toMatchObject({ refundStatus: 'PROCESSING', refundAmount: 40 });
  });

  it('close: instMid and merOrderId', async () => {
    peer.on('/v1/netpay/close', () => ({ json: { errCode: 'SUCCESS', status: 'TRADE_CLOSED' } }));
    const answer = await ops.close({ merOrderId: ORDER }, 'QRPAYDEFAULT');
    expect(only('/v1/netpay/close')).toMatchObject({ merOrderId: ORDER, instMid: 'QRPAYDEFAULT' });
    expect(answer.status).toBe('TRADE_CLOSED');
  });
});

describe('bills', () => {
  it('query: billNo + billDate; billPayment parsed from a JSON string', async () => {
    peer.on('/v1/netpay/bills/query', () => ({
      json: {
        errCode: 'SUCCESS',
        billStatus: 'PAID',
        totalAmount: 2500,
        billPayment: JSON.stringify({ status: 'TRADE_SUCCESS', totalAmount: '2500', buyerPayAmount: 2500, merOrderId: 'M1', targetOrderId: 'T1', payTime: '2024-06-18 10:40:00' }),
      },
    }));
    const answer = await ops.billsQuery({ billNo: ORDER, billDate: '2024-06-18' });
    expect(only('/v1/netpay/bills/query')).toMatchObject({ instMid: 'QRPAYDEFAULT', billNo: ORDER, billDate: '2024-06-18' });
    expect(answer).toMatchObject({ billStatus: 'PAID', totalAmount: 2500 });
    expect(answer.billPayment).toMatchObject({ status: 'TRADE_SUCCESS', totalAmount: 2500, buyerPayAmount: 2500, merOrderId: 'M1', targetOrderId: 'T1' });
  });

  it('query: billPayment as an object too', async () => {
    peer.on('/v1/netpay/bills/query', () => ({ json: { errCode: 'SUCCESS', billStatus: 'UNPAID', billPayment: { status: 'WAIT_BUYER_PAY' } } }));
    expect((await ops.billsQuery({ billNo: ORDER, billDate: '2024-06-18' })).billPayment?.status).toBe('WAIT_BUYER_PAY');
  });

  it('refund and close-qrcode', async () => {
    peer.on('/v1/netpay/bills/refund', () => ({ json: { errCode: 'SUCCESS', refundStatus: 'SUCCESS', billStatus: 'REFUND', refundAmount: 500 } }));
    const refund = await ops.billsRefund({ billNo: ORDER, billDate: '2024-06-18', refundOrderId: '3194R0000000002', refundAmount: 500 });
    expect(only('/v1/netpay/bills/refund')).toMatchObject({ instMid: 'QRPAYDEFAULT', billNo: ORDER, billDate: '2024-06-18', refundOrderId: '3194R0000000002', refundAmount: 500 });
    expect(refund).toMatchObject({ refundStatus: 'SUCCESS', billStatus: 'REFUND', refundAmount: 500 });

    await ops.billsCloseQrCode('31940001');
    expect(only('/v1/netpay/bills/close-qrcode')).toMatchObject({ qrCodeId: '31940001', mid: MERCHANT.mid });
  });
});

describe('from the configuration', () => {
  it('builds a client and merchant context from Config, the simulator URL standing in for UMS_BASE_URL', async () => {
    const config = loadConfig({ UMS_APP_ID: APP_ID, UMS_APP_KEY: APP_KEY, UMS_AUTH_MODE: 'token', UMS_MID: '898100000000001', UMS_TID: '12345678' });
    expect(() => UmsClient.fromConfig(config)).toThrow(UmsConfigError);
    const configured = UmsClient.fromConfig(config, { baseUrl: peer.baseUrl });
    try {
      expect(configured.authMode).toBe('token');
      const merchant = merchantFromConfig(config);
      expect(merchant).toEqual({ mid: '898100000000001', tid: '12345678', notifyUrl: 'http://127.0.0.1:4000/notify/ums', sourceId: '3194' });
      await new UmsOperations(configured, merchant).query({ merOrderId: ORDER }, 'MINIDEFAULT');
      expect(peer.tokenRequests).toHaveLength(1);
      expect(peer.requests[0]!.json).toMatchObject({ mid: '898100000000001', tid: '12345678' });
    } finally {
      await configured.close();
    }
  });
});
