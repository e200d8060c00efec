/**
 * The checks every command runs before anything is stored or sent: a bad input is refused with
 * BAD_USER_INPUT naming the field, and nothing changes. The rules themselves live with the
 * protocol (ums/amounts.ts, ums/ids.ts, ums/signed-text.ts); here they meet the commands' inputs.
 */
import { AMOUNT_RULE, isAmountFen } from '../../ums/amounts.js';
import { isOrderIdFor, ORDER_ID_RULE } from '../../ums/ids.js';
import { isSignSafeText, SIGN_SAFE_TEXT_RULE } from '../../ums/signed-text.js';
import { PAYMENT_CHANNELS } from '../../ums/types.js';
import type { CommandOptions, CreatePaymentInput, RefundPaymentInput } from '../commands-api.js';
import { badInput } from '../errors.js';
import { checkDivision } from './division.js';
import { checkMetadata } from './metadata.js';

/** Longest free text passed on to UMS (descriptions, payer ids, URLs). */
const MAX_TEXT = 255;

export function checkAmount(field: string, value: unknown): void {
  if (!isAmountFen(value)) throw badInput(field, `${field} must be ${AMOUNT_RULE}`);
}

export function checkOrderId(sourceId: string, field: string, id: unknown): void {
  if (typeof id !== 'string' || !isOrderIdFor(sourceId, id)) {
    throw badInput(field, `${field} must start with the source number ${sourceId} and be ${ORDER_ID_RULE}`);
  }
}

export function checkText(field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length > MAX_TEXT) throw badInput(field, `${field} must be text of at most ${MAX_TEXT} characters`);
}

/**
 * Free text that UMS echoes back inside a signed notification: a raw `&` or `=` would let the
 * signed string be re-split into fields nobody sent, so it is refused rather than sent.
 */
export function checkSignSafeText(field: string, value: unknown): void {
  checkText(field, value);
  if (typeof value === 'string' && !isSignSafeText(value)) throw badInput(field, `${field} ${SIGN_SAFE_TEXT_RULE}`);
}

export function checkCreate(input: CreatePaymentInput, sourceId: string, now: Date): void {
  if (!(PAYMENT_CHANNELS as readonly string[]).includes(input.channel)) {
    throw badInput('channel', `channel must be one of ${PAYMENT_CHANNELS.join(', ')}`);
  }
  checkAmount('totalAmount', input.totalAmount);
  if (input.merOrderId !== undefined) checkOrderId(sourceId, 'merOrderId', input.merOrderId);
  checkChannelInputs(input);
  checkSignSafeText('description', input.description);
  checkSignSafeText('attachedData', input.attachedData);
  checkSignSafeText('srcReserve', input.srcReserve);
  checkMetadata(input.metadata);
  if (input.secureTransaction !== undefined && typeof input.secureTransaction !== 'boolean') throw badInput('secureTransaction', 'secureTransaction must be true or false');
  checkDivision(input);
  if (input.secureTransaction && input.channel === 'QR_CODE') {
    throw badInput('secureTransaction', 'secureTransaction is not available for QR_CODE (bills) payments');
  }
  checkText('subOpenId', input.subOpenId);
  checkText('userId', input.userId);
  checkText('subAppId', input.subAppId);
  checkText('returnUrl', input.returnUrl);
  if (input.returnUrl !== undefined && !/^https?:\/\/\S+$/.test(input.returnUrl)) {
    throw badInput('returnUrl', 'returnUrl must be an http(s) URL');
  }
  if (input.expireTime !== undefined) {
    if (!(input.expireTime instanceof Date) || Number.isNaN(input.expireTime.getTime())) {
      throw badInput('expireTime', 'expireTime must be a valid date-time');
    }
    if (input.expireTime.getTime() <= now.getTime()) throw badInput('expireTime', 'expireTime must be in the future');
  }
}

/** What each channel cannot do without (PROTOCOL.md §5.3; docs/protocol.md §9). */
const REQUIRED_PER_CHANNEL: readonly { channels: readonly string[]; field: 'subOpenId' | 'userId' | 'subAppId'; what: string }[] = [
  { channels: ['WECHAT_MINI'], field: 'subOpenId', what: 'the payer’s openid under the mini program' },
  { channels: ['WECHAT_JSAPI'], field: 'subOpenId', what: 'the payer’s openid under the official account' },
  { channels: ['ALIPAY_MINI', 'ALIPAY_JSAPI'], field: 'userId', what: 'the Alipay buyer' },
  { channels: ['APP_WECHAT'], field: 'subAppId', what: 'the app’s appId at the WeChat open platform' },
];

function checkChannelInputs(input: CreatePaymentInput): void {
  for (const rule of REQUIRED_PER_CHANNEL) {
    if (rule.channels.includes(input.channel) && !input[rule.field]?.trim()) {
      throw badInput(rule.field, `${rule.field} (${rule.what}) is required for ${input.channel}`);
    }
  }
}

export function checkRefund(input: RefundPaymentInput, opts: CommandOptions, sourceId: string): void {
  checkAmount('refundAmount', input.refundAmount);
  if (typeof input.merOrderId !== 'string' || input.merOrderId === '') throw badInput('merOrderId', 'merOrderId is required');
  if (input.refundOrderId !== undefined) checkOrderId(sourceId, 'refundOrderId', input.refundOrderId);
  checkSignSafeText('description', input.description);
  // Without either, a retried request would get a fresh refundOrderId and refund a second time.
  if (input.refundOrderId === undefined && opts.idempotencyKey === undefined) {
    throw badInput(
      'refundOrderId',
      'a refund needs an Idempotency-Key header or a refundOrderId, so that a retried request can never refund twice',
    );
  }
}
