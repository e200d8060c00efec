/**
 * Signed UMS payment notifications, as UMS posts them (PROTOCOL.md §4): form-encoded, MD5 sign with
 * the communication key (config.umsNotifyKey), signed by src/ums/sign.ts. Every body is a
 * different notification: its own merOrderId and its own notifyId.
 */
import { loadConfig } from '../src/config.js';
import { notifySign } from '../src/ums/sign.js';
import { beijingDateTime } from '../src/ums/time.js';

export const FORM = 'application/x-www-form-urlencoded; charset=UTF-8';

const config = loadConfig({});
const key = config.umsNotifyKey.reveal();

/** `merOrderId` paid (TRADE_SUCCESS, 100 fen, the demo mid/tid); `notifyId` must be unique. */
export function paidNotification(merOrderId: string, notifyId: string): string {
  const fields: Record<string, string> = {
    msgType: 'wx.notify',
    msgSrc: 'WWW.TEST.COM',
    mid: config.umsMid,
    tid: config.umsTid,
    instMid: 'MINIDEFAULT',
    merOrderId,
    status: 'TRADE_SUCCESS',
    totalAmount: '100',
    buyerPayAmount: '100',
    receiptAmount: '100',
    targetOrderId: `42000014712022${notifyId.slice(-14).padStart(14, '0')}`,
    targetSys: 'WXPay',
    seqId: '01120706230N',
    payTime: beijingDateTime(new Date()),
    settleDate: beijingDateTime(new Date()).slice(0, 10),
    merName: '测试商户 (一店)',
    billFunds: '零钱:100',
    notifyId,
    signType: 'MD5',
  };
  fields.sign = notifySign(fields, key, 'MD5');
  return new URLSearchParams(fields).toString();
}

/** The communication key, for the baselines' check (the same key the gateway is configured with). */
export const NOTIFY_KEY = key;
