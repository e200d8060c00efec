/**
 * createPayment: store the order NEW_ORDER first (a crash leaves a trace the scheduler settles),
 * then ask UMS and store its answer. A timeout or an ambiguous answer leaves it UNKNOWN, never
 * failed; a clear refusal closes it and is thrown as UMS_REJECTED, except for a create RESENT
 * under the same id (the first send may have created the order), which stays UNKNOWN.
 */
import type { PaymentRow } from '../../db/schema.js';
import { optional } from '../../lib/objects.js';
import { UmsError } from '../../ums/errors.js';
import { instMidFor, isBillsChannel, isH5Channel } from '../../ums/operations.js';
import { beijingDate } from '../../ums/time.js';
import type { CommandOptions, CreatePaymentInput, CreatePaymentResult } from '../commands-api.js';
import { PaymentError } from '../errors.js';
import type { Attempt } from '../idempotency.js';
import { applyReport, insertNewOrder } from '../ledger.js';
import { reportFromCreate } from '../sync/reports.js';
import { DEFAULT_MERCHANT_ID } from '../../merchants/ids.js';
import { forCreate, loadPayment, orderIdFor, type CommandDeps } from './deps.js';
import { checkCreate } from './input-checks.js';
import { syncQuietly } from './sync.js';
import { toPaymentError } from './ums-errors.js';

export async function createPayment(deps: CommandDeps, input: CreatePaymentInput, opts: CommandOptions): Promise<CreatePaymentResult> {
  // The merchant is the caller's (a gateway-wide caller's choice, resolved by GraphQL), else `default`.
  const merchantDeps = forCreate(deps, opts.merchantId ?? DEFAULT_MERCHANT_ID);
  checkCreate(input, merchantDeps.sourceId, deps.now());
  // Idempotency-Keys are the merchant's own: two merchants using one key never meet.
  return deps.idempotency.run('createPayment', opts.idempotencyKey, input, (attempt) => create(merchantDeps, input, attempt, opts), { scope: opts.merchantId });
}

/** The first time the scheduler asks about a new order: after the quiet period, or at expiry. */
export function firstSyncAt(now: Date, afterMs: number, expireTime: Date | undefined): Date {
  const after = now.getTime() + afterMs;
  return new Date(expireTime ? Math.min(after, expireTime.getTime()) : after);
}

async function create(deps: CommandDeps, input: CreatePaymentInput, attempt: Attempt, opts: CommandOptions): Promise<CreatePaymentResult> {
  const { channel, totalAmount } = input;
  const { id: merOrderId, ours } = orderIdFor(deps, input.merOrderId, attempt);
  let payment: PaymentRow;
  try {
    ({ payment } = await insertNewOrder(deps.db, {
      merOrderId,
      totalAmount,
      mid: deps.ums.merchant.mid,
      tid: deps.ums.merchant.tid,
      channel,
      instMid: instMidFor(channel),
      ...optional('description', input.description),
      ...optional('expireTime', input.expireTime),
      ...optional('attachedData', input.attachedData),
      ...optional('srcReserve', input.srcReserve),
      ...optional('metadata', input.metadata),
      ...(input.secureTransaction ? { secureTransaction: true } : {}),
      ...(input.divisionFlag ? { divisionFlag: true, platformAmount: input.platformAmount, subOrders: input.subOrders } : {}),
      nextSyncAt: firstSyncAt(deps.now(), deps.syncAfterMs, input.expireTime),
      // The merchant the deps act for (forCreate): the caller's, else `default`.
      merchantId: deps.merchantId,
      actor: opts.actor,
    }));
  } catch (err) {
    // An earlier run under this Idempotency-Key stored the order: carry it on, never a new one.
    if (!(ours && err instanceof PaymentError && err.code === 'CONFLICT')) throw err;
    return resumeCreate(deps, input, await loadPayment(deps, merOrderId, opts.merchantId), opts);
  }
  return sendCreate(deps, input, payment, opts);
}

/**
 * A retry (or take-over) finds the order an earlier run stored. Still NEW_ORDER: UMS may never
 * have heard of it, so the create is sent again with the SAME merOrderId (UMS answers DUP_ORDER
 * if it did: outcome unknown, then asked). Otherwise the order is answered as it stands.
 */
async function resumeCreate(deps: CommandDeps, input: CreatePaymentInput, payment: PaymentRow, opts: CommandOptions): Promise<CreatePaymentResult> {
  const merOrderId = payment.merOrderId;
  if (payment.totalAmount !== input.totalAmount || payment.channel !== input.channel || payment.merchantId !== deps.merchantId) {
    throw new PaymentError('CONFLICT', `a payment with merOrderId ${merOrderId} already exists`, { merOrderId });
  }
  deps.log?.warn({ merOrderId, status: payment.status }, 'payment create: resuming an earlier attempt under the same Idempotency-Key');
  if (payment.status !== 'NEW_ORDER') return { payment: await syncQuietly(deps, payment, opts.actor) };
  const result = await sendCreate(deps, input, payment, opts, { resent: true });
  if (result.payment.status !== 'UNKNOWN') return result;
  return { payment: await syncQuietly(deps, result.payment, opts.actor) };
}

/**
 * `resent`: an earlier run may have sent this create already, so even a clear refusal now does
 * not prove that UMS has no such order (the first request may have created it).
 */
async function sendCreate(
  deps: CommandDeps,
  input: CreatePaymentInput,
  payment: PaymentRow,
  opts: CommandOptions,
  how: { resent: boolean } = { resent: false },
): Promise<CreatePaymentResult> {
  const { channel, totalAmount } = input;
  const merOrderId = payment.merOrderId;
  let created;
  try {
    created = await deps.ums.createOrder(channel, {
      merOrderId,
      totalAmount,
      ...optional('orderDesc', input.description),
      ...optional('subOpenId', input.subOpenId),
      ...optional('userId', input.userId),
      ...optional('subAppId', input.subAppId),
      ...optional('attachedData', input.attachedData),
      ...optional('srcReserve', input.srcReserve),
      ...optional('returnUrl', input.returnUrl),
      ...optional('expireTime', input.expireTime),
      // The bill's date is the order's creation day, so a later bills query finds it again.
      ...(isBillsChannel(channel) ? { billDate: beijingDate(payment.createdAt) } : {}),
      // 担保: UMS holds the money until completeSecurePayment / cancelSecurePayment.
      ...(input.secureTransaction ? { extra: { secureTransaction: true } } : {}),
      // 分账: the shares as UMS takes them ({mid, totalAmount} per sub-merchant).
      ...(input.divisionFlag
        ? { extra: { divisionFlag: true, platformAmount: input.platformAmount, subOrders: input.subOrders?.map((s) => ({ mid: s.mid, totalAmount: s.totalAmount })) } }
        : {}),
    });
  } catch (err) {
    return { payment: await createFailed(deps, payment, err, how, opts.actor) };
  }

  // H5: nothing was sent; UMS learns of the order when the browser opens the URL.
  if (isH5Channel(channel)) {
    deps.log?.info({ merOrderId, channel }, 'payment created (H5 pay URL signed)');
    return { payment, ...optional('payUrl', created.payUrl) };
  }
  const applied = await applyReport(deps.db, reportFromCreate(merOrderId, created.response), 'MUTATION', {
    payload: { answer: 'create', errCode: created.response?.errCode, status: created.response?.status },
    actor: opts.actor,
  });
  deps.log?.info({ merOrderId, channel, status: applied.payment.status }, 'payment created');
  return {
    payment: applied.payment,
    ...optional('payParams', created.payParams),
    ...optional('qrCode', created.qrCode),
  };
}

/**
 * UMS did not say yes: UNKNOWN when it may have acted (an ambiguous answer, or any refusal of a
 * resent create: the first send may have created the order), else closed with UMS's reason, and
 * thrown. An UNKNOWN order is settled by query (sync), never closed here.
 */
async function createFailed(deps: CommandDeps, payment: PaymentRow, err: unknown, how: { resent: boolean }, actor: string | undefined): Promise<PaymentRow> {
  const merOrderId = payment.merOrderId;
  if (err instanceof UmsError && (err.outcomeUnknown || how.resent)) {
    const outcome = err.outcomeUnknown ? 'unknown' : 'refused-on-resend';
    const applied = await applyReport(deps.db, { merOrderId, status: 'UNKNOWN' }, 'MUTATION', {
      payload: { answer: 'create', outcome, errCode: err.errCode ?? null, error: err.name },
      actor,
    });
    deps.log?.warn({ merOrderId, errCode: err.errCode }, 'payment create: outcome unknown; the sync scheduler will query');
    return applied.payment;
  }
  if (!(err instanceof UmsError)) throw err; // a bug or the database: the row stays NEW_ORDER for the scheduler
  await applyReport(deps.db, { merOrderId, status: 'TRADE_CLOSED' }, 'MUTATION', {
    payload: { answer: 'create', outcome: 'refused', errCode: err.errCode ?? null, error: err.name },
    onlyIfOpen: true,
    actor,
  });
  deps.log?.warn({ merOrderId, errCode: err.errCode }, 'payment create refused; order closed');
  throw toPaymentError(err, { merOrderId });
}
