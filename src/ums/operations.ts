/**
 * Typed UMS operations (PROTOCOL.md §5): one method per operation, the merchant context given
 * once, amounts in fen. Built on `UmsClient.call`, so every failure is a typed `UmsError`.
 *
 * @example
 * ```ts
 * const ops = new UmsOperations(client, { mid, tid, notifyUrl, sourceId });
 * const created = await ops.createOrder('WECHAT_MINI', { merOrderId, totalAmount: 100, subOpenId });
 * const state = await ops.query({ merOrderId }, instMidFor('WECHAT_MINI'));
 * ```
 */
import type { Config } from '../config.js';
import { optional } from '../lib/objects.js';
import { AMOUNT_RULE, isAmountFen } from './amounts.js';
import type { UmsClient, UmsResponse } from './client.js';
import { toNumber } from './answers.js';
import { UmsInputError } from './errors.js';
import { ORDER_ID_RULE, isOrderId } from './ids.js';
import { SIGN_SAFE_TEXT_RULE, isSignSafeText } from './signed-text.js';
import { beijingDate, beijingDateTime } from './time.js';
import type {
  AlipayJsapiOrderInput,
  AlipayMiniOrderInput,
  AppOrderInput,
  BillPayment,
  BillRef,
  BillsCloseResponse,
  BillsQrCodeResponse,
  BillsQueryResponse,
  BillsRefundInput,
  BillsRefundResponse,
  ChannelOrderInput,
  CloseResponse,
  CreatedOrder,
  CreateOrderBase,
  H5OrderInput,
  InstMid,
  MerchantContext,
  NetpayResponse,
  OrderRef,
  PaymentChannel,
  QrCodeOrderInput,
  QueryResponse,
  RefundInput,
  RefundQueryInput,
  RefundQueryResponse,
  RefundResponse,
  SecureResponse,
  UnionpayMiniOrderInput,
  WechatAppOrderInput,
  WechatJsapiOrderInput,
  WechatMiniOrderInput,
} from './types.js';

export type * from './types.js';
export { PAYMENT_CHANNELS } from './types.js';

/** Service paths (after the version) per operation. */
export const UMS_SERVICES = {
  wechatMini: 'netpay/wx/unified-order',
  alipayMini: 'netpay/trade/create',
  unionpayMini: 'netpay/uac/mini-order',
  wechatJsapi: 'netpay/wx/unified-order',
  alipayJsapi: 'netpay/trade/create',
  wechatApp: 'netpay/wx/app-pre-order',
  alipayApp: 'netpay/trade/app-pre-order',
  unionpayApp: 'netpay/uac/app-order',
  billsQrCode: 'netpay/bills/get-qrcode',
  billsQuery: 'netpay/bills/query',
  billsRefund: 'netpay/bills/refund',
  billsCloseQrCode: 'netpay/bills/close-qrcode',
  query: 'netpay/query',
  refund: 'netpay/refund',
  refundQuery: 'netpay/refund-query',
  close: 'netpay/close',
  secureComplete: 'netpay/secure-complete',
  secureCancel: 'netpay/secure-cancel',
} as const;

/** H5 pages opened by the browser with an OPEN-FORM-PARAM GET (§3). */
export const H5_PATHS = {
  H5_WECHAT: '/v1/netpay/wxpay/h5-pay',
  H5_ALIPAY: '/v1/netpay/trade/h5-pay',
  H5_UNIONPAY: '/v1/netpay/uac/order',
} as const;

export type H5Channel = keyof typeof H5_PATHS;

const INST_MID: Readonly<Record<PaymentChannel, InstMid>> = {
  WECHAT_MINI: 'MINIDEFAULT',
  ALIPAY_MINI: 'MINIDEFAULT',
  UNIONPAY_MINI: 'MINIDEFAULT',
  QR_CODE: 'QRPAYDEFAULT',
  H5_WECHAT: 'H5DEFAULT',
  H5_ALIPAY: 'H5DEFAULT',
  H5_UNIONPAY: 'H5DEFAULT',
  WECHAT_JSAPI: 'YUEDANDEFAULT',
  ALIPAY_JSAPI: 'YUEDANDEFAULT',
  APP_WECHAT: 'APPDEFAULT',
  APP_ALIPAY: 'APPDEFAULT',
  APP_UNIONPAY: 'APPDEFAULT',
};

/** The instMid an order of this channel is created with; query/refund/close must use the same. */
export function instMidFor(channel: PaymentChannel): InstMid {
  return INST_MID[channel];
}

/** QR_CODE orders live in the bills API (billNo/billDate) rather than netpay query/refund/close. */
export function isBillsChannel(channel: PaymentChannel): boolean {
  return channel === 'QR_CODE';
}

export function isH5Channel(channel: PaymentChannel): channel is H5Channel {
  return channel in H5_PATHS;
}

/** The merchant context of the configured account (UMS_MID, UMS_TID, UMS_NOTIFY_URL, UMS_SOURCE_ID). */
export function merchantFromConfig(config: Pick<Config, 'umsMid' | 'umsTid' | 'umsNotifyUrl' | 'umsSourceId'>): MerchantContext {
  return { mid: config.umsMid, tid: config.umsTid, notifyUrl: config.umsNotifyUrl, sourceId: config.umsSourceId };
}

const VERSION = 'v1';
const READ_ONLY = { readOnly: true } as const;

/** Typed UMS calls for one merchant (mid/tid). See the module comment. */
export class UmsOperations {
  readonly merchant: Readonly<MerchantContext>;
  readonly #client: UmsClient;

  constructor(client: UmsClient, merchant: MerchantContext) {
    if (!merchant.mid || !merchant.tid) throw new UmsInputError('UmsOperations: mid and tid are required');
    this.#client = client;
    this.merchant = { ...merchant };
  }

  /**
   * Creates an order on any channel: mini programs and QR codes call UMS, H5 channels only build
   * the signed URL. Checks the channel's required fields first (subOpenId, userId).
   */
  async createOrder(channel: PaymentChannel, input: ChannelOrderInput): Promise<CreatedOrder> {
    switch (channel) {
      case 'WECHAT_MINI': {
        const subOpenId = input.subOpenId;
        if (!subOpenId) throw new UmsInputError('WECHAT_MINI: subOpenId (the payer’s openid) is required');
        return this.createWechatMini({ ...input, subOpenId });
      }
      case 'ALIPAY_MINI': {
        const userId = input.userId;
        if (!userId) throw new UmsInputError('ALIPAY_MINI: userId (the Alipay buyer) is required');
        return this.createAlipayMini({ ...input, userId });
      }
      case 'UNIONPAY_MINI':
        return this.createUnionpayMini(input);
      case 'QR_CODE':
        return this.createQrCode(input);
      case 'H5_WECHAT':
      case 'H5_ALIPAY':
      case 'H5_UNIONPAY':
        return this.createH5(channel, input);
      case 'WECHAT_JSAPI': {
        const subOpenId = input.subOpenId;
        if (!subOpenId) throw new UmsInputError('WECHAT_JSAPI: subOpenId (the payer’s openid under the official account) is required');
        return this.createWechatJsapi({ ...input, subOpenId });
      }
      case 'ALIPAY_JSAPI': {
        const userId = input.userId;
        if (!userId) throw new UmsInputError('ALIPAY_JSAPI: userId (the Alipay buyer) is required');
        return this.createAlipayJsapi({ ...input, userId });
      }
      case 'APP_WECHAT': {
        const subAppId = input.subAppId ?? this.merchant.subAppId;
        if (!subAppId) throw new UmsInputError('APP_WECHAT: subAppId (the app’s WeChat appId) is required');
        return this.createWechatApp({ ...input, subAppId });
      }
      case 'APP_ALIPAY':
        return this.createApp('APP_ALIPAY', UMS_SERVICES.alipayApp, input);
      case 'APP_UNIONPAY':
        return this.createApp('APP_UNIONPAY', UMS_SERVICES.unionpayApp, input);
      default:
        throw new UmsInputError(`unknown payment channel ${JSON.stringify(channel as string)}`);
    }
  }

  /** WeChat mini program: POST /v1/netpay/wx/unified-order, tradeType MINI. */
  async createWechatMini(input: WechatMiniOrderInput): Promise<CreatedOrder> {
    const subAppId = input.subAppId ?? this.merchant.subAppId;
    const body = {
      ...this.#createFields(input, 'MINIDEFAULT'),
      tradeType: 'MINI',
      subOpenId: input.subOpenId,
      ...(subAppId ? { subAppId } : {}),
    };
    const answer = await this.#call(UMS_SERVICES.wechatMini, VERSION, body);
    const response = netpay(answer);
    return {
      ...this.#created('WECHAT_MINI', input, response),
      ...optional('payParams', objectField(answer, 'miniPayRequest') ?? objectField(answer, 'jsPayRequest')),
    };
  }

  /** Alipay mini program: POST /v1/netpay/trade/create with the buyer's userId. */
  async createAlipayMini(input: AlipayMiniOrderInput): Promise<CreatedOrder> {
    const body = { ...this.#createFields(input, 'MINIDEFAULT'), userId: input.userId };
    const answer = await this.#call(UMS_SERVICES.alipayMini, VERSION, body);
    const response = netpay(answer);
    // my.tradePay takes the Alipay trade number; some answers also carry a jsPayRequest.
    const payParams = objectField(answer, 'jsPayRequest') ?? (response.targetOrderId ? { tradeNO: response.targetOrderId } : undefined);
    return { ...this.#created('ALIPAY_MINI', input, response), ...optional('payParams', payParams) };
  }

  /** UnionPay (云闪付) mini program: POST /v1/netpay/uac/mini-order, tradeType MINI. */
  async createUnionpayMini(input: UnionpayMiniOrderInput): Promise<CreatedOrder> {
    const body = {
      ...this.#createFields(input, 'MINIDEFAULT'),
      tradeType: 'MINI',
      ...(input.userId ? { userId: input.userId } : {}),
    };
    const answer = await this.#call(UMS_SERVICES.unionpayMini, VERSION, body);
    const response = netpay(answer);
    return {
      ...this.#created('UNIONPAY_MINI', input, response),
      ...optional('payParams', objectField(answer, 'miniPayRequest') ?? objectField(answer, 'jsPayRequest')),
    };
  }

  /** WeChat official account (公众号): POST /v1/netpay/wx/unified-order, tradeType JSAPI, YUEDANDEFAULT → jsPayRequest. */
  async createWechatJsapi(input: WechatJsapiOrderInput): Promise<CreatedOrder> {
    const subAppId = input.subAppId ?? this.merchant.subAppId;
    const body = {
      ...this.#createFields(input, 'YUEDANDEFAULT'),
      tradeType: 'JSAPI',
      subOpenId: input.subOpenId,
      ...(subAppId ? { subAppId } : {}),
    };
    const answer = await this.#call(UMS_SERVICES.wechatJsapi, VERSION, body);
    return { ...this.#created('WECHAT_JSAPI', input, netpay(answer)), ...optional('payParams', objectField(answer, 'jsPayRequest')) };
  }

  /** Alipay service window (生活号): POST /v1/netpay/trade/create with userId, YUEDANDEFAULT → jsPayRequest. */
  async createAlipayJsapi(input: AlipayJsapiOrderInput): Promise<CreatedOrder> {
    const body = { ...this.#createFields(input, 'YUEDANDEFAULT'), tradeType: 'JSAPI', userId: input.userId };
    const answer = await this.#call(UMS_SERVICES.alipayJsapi, VERSION, body);
    const response = netpay(answer);
    const payParams = objectField(answer, 'jsPayRequest') ?? (response.targetOrderId ? { tradeNO: response.targetOrderId } : undefined);
    return { ...this.#created('ALIPAY_JSAPI', input, response), ...optional('payParams', payParams) };
  }

  /** WeChat in-app: POST /v1/netpay/wx/app-pre-order, tradeType APP, APPDEFAULT → appPayRequest. */
  async createWechatApp(input: WechatAppOrderInput): Promise<CreatedOrder> {
    const body = { ...this.#createFields(input, 'APPDEFAULT'), tradeType: 'APP', subAppId: input.subAppId };
    const answer = await this.#call(UMS_SERVICES.wechatApp, VERSION, body);
    return { ...this.#created('APP_WECHAT', input, netpay(answer)), ...optional('payParams', objectField(answer, 'appPayRequest')) };
  }

  /** Alipay or UnionPay in-app: POST trade/app-pre-order or uac/app-order, APPDEFAULT → appPayRequest. */
  async createApp(channel: 'APP_ALIPAY' | 'APP_UNIONPAY', service: string, input: AppOrderInput): Promise<CreatedOrder> {
    const answer = await this.#call(service, VERSION, this.#createFields(input, 'APPDEFAULT'));
    return { ...this.#created(channel, input, netpay(answer)), ...optional('payParams', objectField(answer, 'appPayRequest')) };
  }

  /** C-scan-B QR code: POST /v1/netpay/bills/get-qrcode; billNo = merOrderId. */
  async createQrCode(input: QrCodeOrderInput): Promise<CreatedOrder> {
    const billDate = input.billDate ?? beijingDate();
    const { merOrderId, orderDesc, ...rest } = this.#createFields(input, 'QRPAYDEFAULT');
    const billDesc = input.billDesc ?? orderDesc;
    const body = {
      ...rest,
      billNo: merOrderId,
      billDate,
      ...(billDesc !== undefined ? { billDesc } : {}),
      ...(input.qrCodeId ? { qrCodeId: input.qrCodeId } : {}),
      ...(input.walletOption ? { walletOption: input.walletOption } : {}),
    };
    const answer = await this.#call(UMS_SERVICES.billsQrCode, VERSION, body);
    const response = billsQrCode(answer);
    return {
      ...this.#created('QR_CODE', input, response),
      billDate: response.billDate ?? billDate,
      ...optional('qrCode', response.billQRCode),
      ...optional('qrCodeId', response.qrCodeId),
    };
  }

  /** H5 page (no HTTP call): the signed OPEN-FORM-PARAM URL the browser opens (§3). */
  createH5(channel: H5Channel, input: H5OrderInput): CreatedOrder {
    const path = H5_PATHS[channel];
    if (!path) throw new UmsInputError(`not an H5 channel: ${JSON.stringify(channel)}`);
    const content = this.#createFields(input, 'H5DEFAULT');
    checkEchoedText(content);
    const payUrl = this.#client.formParamUrl(path, content);
    return { channel, merOrderId: input.merOrderId, instMid: 'H5DEFAULT', totalAmount: input.totalAmount, payUrl };
  }

  /** POST /v1/netpay/query. `instMid` must be the one the order was created with. */
  async query(ref: OrderRef, instMid: InstMid): Promise<QueryResponse> {
    const body = { ...this.#common(instMid), ...this.#ref(ref) };
    const answer = await this.#call(UMS_SERVICES.query, VERSION, body, READ_ONLY);
    return {
      ...netpay(answer),
      ...amounts(answer, ['buyerPayAmount', 'receiptAmount', 'invoiceAmount', 'couponAmount', 'refundAmount']),
      ...strings(answer, ['payTime', 'settleDate', 'buyerId', 'billFunds']),
    };
  }

  /**
   * POST /v1/netpay/refund. errCode SUCCESS means "accepted": read `refundStatus`. Resending the
   * same merOrderId + refundOrderId returns the earlier refund rather than refunding twice.
   */
  async refund(input: RefundInput, instMid: InstMid): Promise<RefundResponse> {
    if (!input.refundOrderId) throw new UmsInputError('refund: refundOrderId is required');
    this.#checkId('refundOrderId', input.refundOrderId);
    this.#checkId('merOrderId', input.merOrderId);
    checkAmount('refundAmount', input.refundAmount);
    const body = {
      ...this.#common(instMid),
      merOrderId: input.merOrderId,
      refundOrderId: input.refundOrderId,
      refundAmount: input.refundAmount,
      ...(input.refundDesc ? { refundDesc: input.refundDesc } : {}),
      ...(input.targetOrderId ? { targetOrderId: input.targetOrderId } : {}),
      ...input.extra,
    };
    return refundResponse(await this.#call(UMS_SERVICES.refund, VERSION, body));
  }

  /** POST /v1/netpay/refund-query with the original merOrderId and the refundOrderId. */
  async refundQuery(input: RefundQueryInput, instMid: InstMid): Promise<RefundQueryResponse> {
    const body = { ...this.#common(instMid), merOrderId: input.merOrderId, refundOrderId: input.refundOrderId };
    const answer = await this.#call(UMS_SERVICES.refundQuery, VERSION, body, READ_ONLY);
    return { ...refundResponse(answer), ...strings(answer, ['payTime', 'settleDate']) };
  }

  /** POST /v1/netpay/close: closes an unpaid order. */
  async close(ref: OrderRef, instMid: InstMid): Promise<CloseResponse> {
    const body = { ...this.#common(instMid), ...this.#ref(ref) };
    return netpay(await this.#call(UMS_SERVICES.close, VERSION, body));
  }

  /**
   * POST /v1/netpay/secure-complete (担保完成): releases `completedAmount` of a guaranteed payment
   * to the merchant; the rest goes back to the buyer.
   */
  async secureComplete(input: { merOrderId: string; completedAmount: number }, instMid: InstMid): Promise<SecureResponse> {
    this.#checkId('merOrderId', input.merOrderId);
    checkAmount('completedAmount', input.completedAmount);
    const body = { ...this.#common(instMid), merOrderId: input.merOrderId, completedAmount: input.completedAmount };
    return secureResponse(await this.#call(UMS_SERVICES.secureComplete, VERSION, body));
  }

  /** POST /v1/netpay/secure-cancel (担保撤销): the whole amount goes back to the buyer. */
  async secureCancel(input: { merOrderId: string }, instMid: InstMid): Promise<SecureResponse> {
    this.#checkId('merOrderId', input.merOrderId);
    const body = { ...this.#common(instMid), merOrderId: input.merOrderId };
    return secureResponse(await this.#call(UMS_SERVICES.secureCancel, VERSION, body));
  }

  /** POST /v1/netpay/bills/query (QR_CODE orders). */
  async billsQuery(ref: BillRef): Promise<BillsQueryResponse> {
    const body = { ...this.#common('QRPAYDEFAULT'), billNo: ref.billNo, billDate: ref.billDate };
    const answer = await this.#call(UMS_SERVICES.billsQuery, VERSION, body, READ_ONLY);
    return {
      ...netpay(answer),
      ...strings(answer, ['billStatus', 'billNo', 'billDate', 'createTime', 'billQRCode']),
      ...optional('billPayment', billPayment(answer.billPayment)),
    };
  }

  /** POST /v1/netpay/bills/refund (QR_CODE orders). */
  async billsRefund(input: BillsRefundInput): Promise<BillsRefundResponse> {
    this.#checkId('refundOrderId', input.refundOrderId);
    checkAmount('refundAmount', input.refundAmount);
    const body = {
      ...this.#common('QRPAYDEFAULT'),
      billNo: input.billNo,
      billDate: input.billDate,
      refundOrderId: input.refundOrderId,
      refundAmount: input.refundAmount,
      ...(input.refundDesc ? { refundDesc: input.refundDesc } : {}),
    };
    const answer = await this.#call(UMS_SERVICES.billsRefund, VERSION, body);
    return { ...refundResponse(answer), ...strings(answer, ['billNo', 'billDate', 'billStatus']) };
  }

  /** POST /v1/netpay/bills/close-qrcode: retires a QR code. */
  async billsCloseQrCode(qrCodeId: string): Promise<BillsCloseResponse> {
    const body = { ...this.#common('QRPAYDEFAULT'), qrCodeId };
    return netpay(await this.#call(UMS_SERVICES.billsCloseQrCode, VERSION, body));
  }

  // -------------------------------------------------------------------------------------------

  /** Every UMS call goes through here: echoed free text is checked on the body as sent (extra included). */
  #call(service: string, version: string, body: Readonly<Record<string, unknown>>, options?: typeof READ_ONLY): Promise<UmsResponse> {
    checkEchoedText(body);
    return this.#client.call(service, version, body, options);
  }

  #common(instMid: InstMid): Record<string, unknown> {
    // requestTimestamp is filled in by the client, from its clock.
    return { mid: this.merchant.mid, tid: this.merchant.tid, instMid };
  }

  #ref(ref: OrderRef): Record<string, string> {
    if (ref.merOrderId) return { merOrderId: ref.merOrderId };
    if (ref.targetOrderId) return { targetOrderId: ref.targetOrderId };
    throw new UmsInputError('merOrderId or targetOrderId is required');
  }

  #createFields(input: CreateOrderBase, instMid: InstMid): Record<string, unknown> & { merOrderId: string; orderDesc?: string } {
    this.#checkId('merOrderId', input.merOrderId);
    checkAmount('totalAmount', input.totalAmount);
    const notifyUrl = input.notifyUrl ?? this.merchant.notifyUrl;
    const expireTime = input.expireTime instanceof Date ? beijingDateTime(input.expireTime) : input.expireTime;
    return {
      ...this.#common(instMid),
      merOrderId: input.merOrderId,
      totalAmount: input.totalAmount,
      ...optional('orderDesc', input.orderDesc),
      ...optional('notifyUrl', notifyUrl),
      ...optional('returnUrl', input.returnUrl),
      ...optional('expireTime', expireTime),
      ...optional('attachedData', input.attachedData),
      ...optional('msgId', input.msgId),
      ...optional('srcReserve', input.srcReserve),
      ...input.extra,
    };
  }

  #created(channel: PaymentChannel, input: CreateOrderBase, response: NetpayResponse): CreatedOrder {
    return {
      channel,
      merOrderId: input.merOrderId,
      instMid: instMidFor(channel),
      totalAmount: input.totalAmount,
      response,
      ...optional('status', response.status),
      ...optional('targetOrderId', response.targetOrderId),
      ...optional('targetSys', response.targetSys),
      ...optional('seqId', response.seqId),
    };
  }

  /** UMS refuses an unprefixed id ("订单号必须以XXXX开头"); say so before sending. */
  #checkId(name: string, id: string): void {
    if (!isOrderId(id)) throw new UmsInputError(`${name}: expected ${ORDER_ID_RULE}`);
    const prefix = this.merchant.sourceId;
    if (prefix && !id.startsWith(prefix)) {
      throw new UmsInputError(`${name}: must start with the source number ${prefix}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading answers

const COMMON_STRINGS = [
  'errMsg',
  'resultCode',
  'resultInfo',
  'responseTimestamp',
  'mid',
  'tid',
  'instMid',
  'msgId',
  'srcReserve',
  'seqId',
  'settleRefId',
  'merName',
  'merOrderId',
  'status',
  'targetSys',
  'targetStatus',
  'targetMid',
  'targetOrderId',
] as const;

/** The common netpay fields; `errMsg` falls back to `errInfo`. */
function netpay(answer: UmsResponse): NetpayResponse {
  const response: NetpayResponse = {
    errCode: answer.errCode,
    raw: answer,
    ...strings(answer, COMMON_STRINGS),
    ...amounts(answer, ['totalAmount']),
  };
  if (response.errMsg === undefined && typeof answer.errInfo === 'string') response.errMsg = answer.errInfo;
  return response;
}

function secureResponse(answer: UmsResponse): SecureResponse {
  return { ...netpay(answer), ...strings(answer, ['secureStatus']), ...amounts(answer, ['completeAmount', 'completedAmount']) };
}

function refundResponse(answer: UmsResponse): RefundResponse {
  return {
    ...netpay(answer),
    ...strings(answer, ['refundStatus', 'refundOrderId', 'refundTargetOrderId', 'refundFunds', 'refundPayTime']),
    ...amounts(answer, ['refundAmount']),
  };
}

function billsQrCode(answer: UmsResponse): BillsQrCodeResponse {
  return { ...netpay(answer), ...strings(answer, ['billQRCode', 'qrCodeId', 'billNo', 'billDate']) };
}

/** billPayment arrives as an object (query answers) or a JSON string (notifications, some answers). */
function billPayment(value: unknown): BillPayment | undefined {
  let object: unknown = value;
  if (typeof value === 'string') {
    try {
      object = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return undefined;
  const raw = object as Record<string, unknown>;
  return {
    raw,
    ...strings(raw, ['status', 'payTime', 'targetOrderId', 'targetSys', 'buyerId', 'paySeqId', 'merOrderId', 'settleDate']),
    ...amounts(raw, ['totalAmount', 'buyerPayAmount', 'receiptAmount', 'invoiceAmount', 'couponAmount']),
  };
}

/** The named fields that are strings (numbers are turned into their text). */
function strings<const K extends string>(source: Readonly<Record<string, unknown>>, names: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const name of names) {
    const v = source[name];
    if (typeof v === 'string') out[name] = v;
    else if (typeof v === 'number' && Number.isFinite(v)) out[name] = String(v);
  }
  return out;
}

/** The named fields that read as numbers (JSON number or numeric string). */
function amounts<const K extends string>(source: Readonly<Record<string, unknown>>, names: readonly K[]): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const name of names) {
    const n = toNumber(source[name]);
    if (n !== undefined) out[name] = n;
  }
  return out;
}

function objectField(source: Readonly<Record<string, unknown>>, name: string): Record<string, unknown> | undefined {
  const v = source[name];
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  if (typeof v === 'string') {
    // Some answers carry the pay request as a JSON string.
    try {
      const parsed: unknown = JSON.parse(v);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function checkAmount(name: string, fen: number): void {
  if (!isAmountFen(fen)) throw new UmsInputError(`${name}: expected ${AMOUNT_RULE}`);
}

/**
 * Free text UMS echoes back inside signed notifications. UMS joins signed fields with `&` and
 * escapes nothing, so a raw `&` or `=` in one of these could be re-split into a field UMS never
 * sent (signed-text.ts).
 */
const ECHOED_TEXT_FIELDS = ['orderDesc', 'billDesc', 'refundDesc', 'attachedData', 'srcReserve', 'msgId'] as const;

/** Refuses, before anything is sent, a body whose echoed free text could be re-split. */
function checkEchoedText(body: Readonly<Record<string, unknown>>): void {
  for (const name of ECHOED_TEXT_FIELDS) {
    const value = body[name];
    if (typeof value === 'string' && !isSignSafeText(value)) throw new UmsInputError(`${name}: ${SIGN_SAFE_TEXT_RULE}`);
  }
}
