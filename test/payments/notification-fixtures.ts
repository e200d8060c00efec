/**
 * Signed notifications as UMS sends them (PROTOCOL.md §4): fields, a signature made with
 * src/ums/sign.ts, and the form body with Java URLEncoder-style `+` for spaces.
 */
import { randomUUID } from 'node:crypto';
import { DEMO } from '../../src/config.js';
import { notifySign, type NotifySignType } from '../../src/ums/sign.js';

export const NOTIFY_KEY = DEMO.notifyKey;
export const PREVIOUS_KEY = 'previousCommunicationKey0123456789abcdefghijkl';
export const MID = DEMO.mid;
export const TID = DEMO.tid;

let counter = 0;
/** A fresh merOrderId with the demo source prefix. */
export function newOrderId(): string {
  return `${DEMO.sourceId}${Date.now()}${String(++counter).padStart(4, '0')}`;
}

/** A payment notification's fields (unsigned); `overrides` with '' drop nothing: empty is empty. */
export function notificationFields(merOrderId: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    msgType: 'wx.notify',
    msgSrc: 'WWW.TEST.COM',
    mid: MID,
    tid: TID,
    instMid: 'MINIDEFAULT',
    merOrderId,
    status: 'TRADE_SUCCESS',
    totalAmount: '100',
    buyerPayAmount: '100',
    receiptAmount: '100',
    targetOrderId: '4200001471202206211141496123',
    targetSys: 'WXPay',
    seqId: '01120706230N',
    payTime: '2026-11-27 12:30:05',
    settleDate: '2026-11-27',
    merName: '测试商户 (一店)',
    billFunds: '零钱:100',
    notifyId: randomUUID(),
    ns: 'cyuT',
    signType: 'SHA256',
    ...overrides,
  };
}

/** `fields` plus their `sign`. */
export function signed(fields: Record<string, string>, key: string = NOTIFY_KEY): Record<string, string> {
  const signType: NotifySignType = fields.signType === 'MD5' ? 'MD5' : 'SHA256';
  return { ...fields, sign: notifySign(fields, key, signType) };
}

/** The x-www-form-urlencoded body (URLSearchParams writes spaces as `+`, like Java's URLEncoder). */
export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export const FORM = 'application/x-www-form-urlencoded; charset=UTF-8';
