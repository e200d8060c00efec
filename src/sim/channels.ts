/**
 * Every order-creating API the simulator speaks (PROTOCOL.md §3, §5.3, §5.5), with the instMid it
 * accepts, the channel (targetSys) that pays it and the msgType of its notifications.
 */
import type { ChannelSpec } from './types.js';

const MINI = ['MINIDEFAULT'] as const;
const H5 = ['H5DEFAULT'] as const;

export const CHANNELS: readonly ChannelSpec[] = [
  // Mini programs and official accounts (POST, OPEN-BODY-SIG or token).
  // tradeType APP here too: one SDK (majiameng/chinaums-php) sends in-app WeChat orders to unified-order.
  { path: '/v1/netpay/wx/unified-order', name: 'WeChat mini/JSAPI', method: 'POST', instMids: ['MINIDEFAULT', 'YUEDANDEFAULT', 'APPDEFAULT'], targetSys: 'WXPay', msgType: 'wx.notify', family: 'netpay' },
  { path: '/v1/netpay/trade/create', name: 'Alipay mini/JSAPI', method: 'POST', instMids: ['MINIDEFAULT', 'YUEDANDEFAULT'], targetSys: 'Alipay 2.0', msgType: 'trade.notify', family: 'netpay' },
  { path: '/v1/netpay/uac/mini-order', name: 'UnionPay mini', method: 'POST', instMids: MINI, targetSys: 'UAC', msgType: 'uac.notify', family: 'netpay' },
  // In-app variants.
  { path: '/v1/netpay/wx/app-pre-order', name: 'WeChat app', method: 'POST', instMids: ['APPDEFAULT'], targetSys: 'WXPay', msgType: 'wx.notify', family: 'netpay' },
  { path: '/v1/netpay/trade/precreate', name: 'Alipay precreate', method: 'POST', instMids: ['APPDEFAULT'], targetSys: 'Alipay 2.0', msgType: 'trade.notify', family: 'netpay' },
  { path: '/v1/netpay/trade/app-pre-order', name: 'Alipay app', method: 'POST', instMids: ['APPDEFAULT'], targetSys: 'Alipay 2.0', msgType: 'trade.notify', family: 'netpay' },
  { path: '/v1/netpay/uac/app-order', name: 'UnionPay app', method: 'POST', instMids: ['APPDEFAULT'], targetSys: 'UAC', msgType: 'uac.notify', family: 'netpay' },
  // H5: GET opened by the buyer's browser, OPEN-FORM-PARAM, 302 to the cashier.
  { path: '/v1/netpay/wxpay/h5-pay', name: 'WeChat H5', method: 'GET', instMids: H5, targetSys: 'WXPay', msgType: 'wx.notify', family: 'netpay' },
  { path: '/v1/netpay/wxpay/h5-to-minipay', name: 'WeChat H5 to mini', method: 'GET', instMids: ['MINIDEFAULT', 'H5DEFAULT'], targetSys: 'WXPay', msgType: 'wx.notify', family: 'netpay' },
  { path: '/v1/netpay/trade/h5-pay', name: 'Alipay H5', method: 'GET', instMids: H5, targetSys: 'Alipay 2.0', msgType: 'trade.notify', family: 'netpay' },
  { path: '/v1/netpay/uac/order', name: 'UnionPay H5', method: 'GET', instMids: H5, targetSys: 'UAC', msgType: 'uac.notify', family: 'netpay' },
  { path: '/v1/netpay/qmf/h5-pay', name: 'QMF H5', method: 'GET', instMids: H5, targetSys: 'QMF', msgType: 'qmf.notify', family: 'netpay' },
  { path: '/v1/netpay/webpay/pay', name: 'Web pay', method: 'GET', instMids: ['YUEDANDEFAULT'], targetSys: 'QmfWebPay', msgType: 'webpay.notify', family: 'netpay' },
  // C-scan-B bills QR code.
  { path: '/v1/netpay/bills/get-qrcode', name: 'Bills QR code', method: 'POST', instMids: ['QRPAYDEFAULT'], targetSys: 'Alipay 2.0', msgType: 'bills.notify', family: 'bills' },
];

export function channelFor(method: string, path: string): ChannelSpec | undefined {
  return CHANNELS.find((c) => c.method === method && c.path === path);
}

/** The instMids that query/refund/close accept for orders of any channel. */
export const NETPAY_INST_MIDS = ['MINIDEFAULT', 'YUEDANDEFAULT', 'H5DEFAULT', 'APPDEFAULT', 'QRPAYDEFAULT'] as const;
