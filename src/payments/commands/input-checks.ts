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
  if (input.channel === 'WECHAT_MINI' && !input.subOpenId?.trim()) {
    throw badInput('subOpenId', 'subOpenId (the payer’s openid under the mini program) is required for WECHAT_MINI');
  }
  if (input.channel === 'ALIPAY_MINI' && !input.userId?.trim()) {
    throw badInput('userId', 'userId (the Alipay buyer) is required for ALIPAY_MINI');
  }
  checkSignSafeText('description', input.description);
  checkText('subOpenId', input.subOpenId);
  checkText('userId', input.userId);
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
