/**
 * The payment commands (issue 5): create, sync, close, refund, callUms and, in simulator mode,
 * simulatePayment. Every state change goes through the ledger (the single writer); this module
 * decides what to ask UMS and what its answer means.
 *
 * The rules that matter most:
 * - Validate first: a bad input is refused with a specific message and changes nothing.
 * - Store first: the order is NEW_ORDER (the refund PROCESSING) before UMS is called, so a crash
 *   leaves a trace the sync scheduler will settle.
 * - A timeout or an ambiguous UMS answer is never a failure: the payment becomes UNKNOWN (the
 *   refund UNKNOWN) and is answered as such; the scheduler settles it by query, never by
 *   retrying with a new id.
 * - A clear refusal is recorded (order closed, refund FAIL, with UMS's errCode on the event) and
 *   thrown as PaymentError UMS_REJECTED; except for a create or refund RESENT under the same id,
 *   which the first send may have carried out: that stays UNKNOWN for the query to settle.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { payments, refunds, type PaymentRow, type RefundRow } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { UmsClient } from '../ums/client.js';
import { UmsAuthError, UmsBusinessError, UmsConfigError, UmsError, UmsInputError } from '../ums/errors.js';
import { generateOrderId, isOrderIdFor } from '../ums/ids.js';
import { instMidFor, isBillsChannel, isH5Channel, type UmsOperations } from '../ums/operations.js';
import { beijingDate } from '../ums/time.js';
import { PAYMENT_CHANNELS, type InstMid, type PaymentChannel, type RefundResponse } from '../ums/types.js';
import type {
  CommandOptions,
  CreatePaymentInput,
  CreatePaymentResult,
  PaymentCommands,
  RefundPaymentInput,
  SimulatedOutcome,
} from './commands-api.js';
import { PaymentError, badInput } from './errors.js';
import { Idempotency, idempotentOrderId, type Attempt } from './idempotency.js';
import { applyReport, flagPaymentForReview, insertNewOrder, insertRefundRequest, PENDING_REFUND_STATUSES, type RefundStatus, type StatusReport } from './ledger.js';
import { MAX_AMOUNT_FEN } from './amounts.js';
import { isOpen, isPaidStatus, type EventSource, type PaymentStatus } from './status.js';
import {
  refundStatusOf,
  reportFromBillsQuery,
  reportFromCreate,
  reportFromQuery,
  reportFromRefund,
} from './sync/reports.js';
import { REFUND_IN_DOUBT } from './sync/review.js';

const MAX_TEXT = 255;

/** The simulator's control, as `startSimulator` hands it out (structural: no import of src/sim). */
export interface SimulatorControl {
  pay(merOrderId: string, options: { outcome: SimulatedOutcome; notify: boolean }): unknown;
}

export interface PaymentServiceOptions {
  db: Database;
  /** Typed operations for this merchant (mid, tid, notifyUrl, sourceId). */
  ums: UmsOperations;
  /** The signed client, for callUms. */
  client: UmsClient;
  /** UMS_SOURCE_ID: the prefix of every merOrderId and refundOrderId. */
  sourceId: string;
  /** PAYMENT_SYNC_AFTER_MS: when the scheduler first asks about a new order or refund. */
  syncAfterMs: number;
  log?: Logger;
  /** Present in simulator mode only: enables simulatePayment. */
  simulator?: SimulatorControl;
  /** How long simulatePayment waits for the notification before asking UMS itself. Default 5 s. */
  simulateWaitMs?: number;
  /**
   * An order without an expireTime that UMS still does not know after this long is closed here
   * (UMS's own default order lifetime is 30 minutes). Default 35 minutes.
   */
  unknownAtUmsCloseMs?: number;
  idempotency?: Idempotency;
  now?: () => Date;
}


export class PaymentService implements PaymentCommands {
  readonly #db: Database;
  readonly #ums: UmsOperations;
  readonly #client: UmsClient;
  readonly #sourceId: string;
  readonly #syncAfterMs: number;
  readonly #log: Logger | undefined;
  readonly #simulator: SimulatorControl | undefined;
  readonly #simulateWaitMs: number;
  readonly #unknownAtUmsCloseMs: number;
  readonly #idempotency: Idempotency;
  readonly #now: () => Date;

  constructor(options: PaymentServiceOptions) {
    this.#db = options.db;
    this.#ums = options.ums;
    this.#client = options.client;
    this.#sourceId = options.sourceId;
    this.#syncAfterMs = options.syncAfterMs;
    this.#log = options.log;
    this.#simulator = options.simulator;
    this.#simulateWaitMs = options.simulateWaitMs ?? 5_000;
    this.#unknownAtUmsCloseMs = options.unknownAtUmsCloseMs ?? 35 * 60_000;
    this.#now = options.now ?? (() => new Date());
    this.#idempotency = options.idempotency ?? new Idempotency(options.db, { now: this.#now });
    if (!this.#simulator) this.simulatePayment = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // create

  async create(input: CreatePaymentInput, opts: CommandOptions = {}): Promise<CreatePaymentResult> {
    this.#validateCreate(input);
    return this.#idempotency.run('createPayment', opts.idempotencyKey, input, (attempt) => this.#create(input, attempt));
  }

  async #create(input: CreatePaymentInput, attempt: Attempt): Promise<CreatePaymentResult> {
    const { channel, totalAmount } = input;
    const { id: merOrderId, ours } = this.#orderIdFor(input.merOrderId, attempt);
    const now = this.#now();
    let payment: PaymentRow;
    try {
      ({ payment } = await insertNewOrder(this.#db, {
        merOrderId,
        totalAmount,
        mid: this.#ums.merchant.mid,
        tid: this.#ums.merchant.tid,
        channel,
        instMid: instMidFor(channel),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.expireTime !== undefined ? { expireTime: input.expireTime } : {}),
        nextSyncAt: firstSyncAt(now, this.#syncAfterMs, input.expireTime),
      }));
    } catch (err) {
      // An earlier run under this Idempotency-Key stored the order: carry it on, never a new one.
      if (!(ours && err instanceof PaymentError && err.code === 'CONFLICT')) throw err;
      return this.#resumeCreate(input, await this.#load(merOrderId));
    }
    return this.#sendCreate(input, payment);
  }

  /**
   * The id of a new order or refund: the caller's, else one derived from the Idempotency-Key (the
   * same on every retry), else a fresh one. `ours`: a row already stored under this id was
   * stored by an earlier run under the same key and input, so it is to be resumed.
   */
  #orderIdFor(given: string | undefined, attempt: Attempt): { id: string; ours: boolean } {
    if (given !== undefined) return { id: given, ours: attempt.resumed };
    if (attempt.seed !== undefined) return { id: idempotentOrderId(this.#sourceId, attempt.seed), ours: true };
    return { id: generateOrderId(this.#sourceId), ours: false };
  }

  /**
   * A retry (or take-over) finds the order an earlier run stored. Still NEW_ORDER: UMS may never
   * have heard of it, so the create is sent again with the SAME merOrderId (UMS answers DUP_ORDER
   * if it did: outcome unknown, then asked). Otherwise the order is answered as it stands.
   */
  async #resumeCreate(input: CreatePaymentInput, payment: PaymentRow): Promise<CreatePaymentResult> {
    const merOrderId = payment.merOrderId;
    if (payment.totalAmount !== input.totalAmount || payment.channel !== input.channel) {
      throw new PaymentError('CONFLICT', `a payment with merOrderId ${merOrderId} already exists`, { merOrderId });
    }
    this.#log?.warn({ merOrderId, status: payment.status }, 'payment create: resuming an earlier attempt under the same Idempotency-Key');
    if (payment.status !== 'NEW_ORDER') return { payment: await this.#syncQuietly(payment) };
    const result = await this.#sendCreate(input, payment, { resent: true });
    if (result.payment.status !== 'UNKNOWN') return result;
    return { payment: await this.#syncQuietly(result.payment) };
  }

  /** Asks UMS about an order whose state is in doubt; on failure the scheduler will ask later. */
  async #syncQuietly(payment: PaymentRow): Promise<PaymentRow> {
    if (!isOpen(payment.status as PaymentStatus)) return payment;
    try {
      return await this.syncPayment(payment, 'MUTATION');
    } catch {
      return payment;
    }
  }

  /**
   * `resent`: an earlier run may have sent this create already, so even a clear refusal now does
   * not prove that UMS has no such order (the first request may have created it).
   */
  async #sendCreate(input: CreatePaymentInput, payment: PaymentRow, how: { resent: boolean } = { resent: false }): Promise<CreatePaymentResult> {
    const { channel, totalAmount } = input;
    const merOrderId = payment.merOrderId;
    let created;
    try {
      created = await this.#ums.createOrder(channel, {
        merOrderId,
        totalAmount,
        ...optional('orderDesc', input.description),
        ...optional('subOpenId', input.subOpenId),
        ...optional('userId', input.userId),
        ...optional('returnUrl', input.returnUrl),
        ...optional('expireTime', input.expireTime),
        // The bill's date is the order's creation day, so a later bills query finds it again.
        ...(isBillsChannel(channel) ? { billDate: beijingDate(payment.createdAt) } : {}),
      });
    } catch (err) {
      return { payment: await this.#createFailed(payment, err, how) };
    }

    // H5: nothing was sent; UMS learns of the order when the browser opens the URL.
    if (isH5Channel(channel)) {
      this.#log?.info({ merOrderId, channel }, 'payment created (H5 pay URL signed)');
      return { payment, ...optional('payUrl', created.payUrl) };
    }
    const applied = await applyReport(this.#db, reportFromCreate(merOrderId, created.response), 'MUTATION', {
      payload: { answer: 'create', errCode: created.response?.errCode, status: created.response?.status },
    });
    this.#log?.info({ merOrderId, channel, status: applied.payment.status }, 'payment created');
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
  async #createFailed(payment: PaymentRow, err: unknown, how: { resent: boolean }): Promise<PaymentRow> {
    const merOrderId = payment.merOrderId;
    if (err instanceof UmsError && (err.outcomeUnknown || how.resent)) {
      const outcome = err.outcomeUnknown ? 'unknown' : 'refused-on-resend';
      const applied = await applyReport(this.#db, { merOrderId, status: 'UNKNOWN' }, 'MUTATION', {
        payload: { answer: 'create', outcome, errCode: err.errCode ?? null, error: err.name },
      });
      this.#log?.warn({ merOrderId, errCode: err.errCode }, 'payment create: outcome unknown; the sync scheduler will query');
      return applied.payment;
    }
    if (!(err instanceof UmsError)) throw err; // a bug or the database: the row stays NEW_ORDER for the scheduler
    await applyReport(this.#db, { merOrderId, status: 'TRADE_CLOSED' }, 'MUTATION', {
      payload: { answer: 'create', outcome: 'refused', errCode: err.errCode ?? null, error: err.name },
      onlyIfOpen: true,
    });
    this.#log?.warn({ merOrderId, errCode: err.errCode }, 'payment create refused; order closed');
    throw toPaymentError(err, { merOrderId });
  }

  #validateCreate(input: CreatePaymentInput): void {
    if (!(PAYMENT_CHANNELS as readonly string[]).includes(input.channel)) {
      throw badInput('channel', `channel must be one of ${PAYMENT_CHANNELS.join(', ')}`);
    }
    checkAmount('totalAmount', input.totalAmount);
    if (input.merOrderId !== undefined) this.#checkId('merOrderId', input.merOrderId);
    if (input.channel === 'WECHAT_MINI' && !input.subOpenId?.trim()) {
      throw badInput('subOpenId', 'subOpenId (the payer’s openid under the mini program) is required for WECHAT_MINI');
    }
    if (input.channel === 'ALIPAY_MINI' && !input.userId?.trim()) {
      throw badInput('userId', 'userId (the Alipay buyer) is required for ALIPAY_MINI');
    }
    checkText('description', input.description);
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
      if (input.expireTime.getTime() <= this.#now().getTime()) throw badInput('expireTime', 'expireTime must be in the future');
    }
  }

  #checkId(field: string, id: string): void {
    if (!isOrderIdFor(this.#sourceId, id)) {
      throw badInput(field, `${field} must start with the source number ${this.#sourceId} and be 7 to 32 letters or digits`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // sync and close

  async sync(merOrderId: string): Promise<PaymentRow> {
    return this.syncPayment(await this.#load(merOrderId), 'MUTATION');
  }

  /**
   * Asks UMS about one order (query, or bills query for QR codes) and stores what it says with
   * `source` (SYNC from the scheduler; MUTATION when a user asked). Throws PaymentError when UMS
   * could not answer.
   */
  async syncPayment(payment: PaymentRow, source: EventSource): Promise<PaymentRow> {
    const merOrderId = payment.merOrderId;
    let report: StatusReport | undefined;
    try {
      if (payment.channel === 'QR_CODE') {
        const answer = await this.#ums.billsQuery({ billNo: merOrderId, billDate: beijingDate(payment.createdAt) });
        report = reportFromBillsQuery(merOrderId, answer);
      } else {
        const answer = await this.#ums.query({ merOrderId }, this.#instMid(payment));
        report = reportFromQuery(merOrderId, answer);
      }
    } catch (err) {
      if (err instanceof UmsBusinessError && err.errCode === 'NO_ORDER' && neverReachedUms(payment.status)) {
        return this.#unknownAtUms(payment, source);
      }
      throw toPaymentError(err, { merOrderId });
    }
    if (!report) {
      this.#log?.warn({ merOrderId }, 'payment query: answer carried no known status');
      return payment;
    }
    const applied = await applyReport(this.#db, report, source, { payload: { answer: 'query', status: report.status } });
    return applied.payment;
  }

  /**
   * UMS does not know an order we have as NEW_ORDER or UNKNOWN: an H5 page never opened, or a
   * create that never arrived. Normal while the order is young; once it has expired (or is older
   * than UMS's own order lifetime) nobody can pay it any more, so it is closed here.
   */
  async #unknownAtUms(payment: PaymentRow, source: EventSource): Promise<PaymentRow> {
    const now = this.#now().getTime();
    const expired = payment.expireTime !== null && payment.expireTime.getTime() <= now;
    const tooOld = now - payment.createdAt.getTime() > this.#unknownAtUmsCloseMs;
    if (!expired && !tooOld) {
      this.#log?.debug({ merOrderId: payment.merOrderId }, 'payment query: UMS does not know the order yet');
      return payment;
    }
    // Decided here from a row read before the query: a payment may have been stored meanwhile
    // (the buyer paid, the notice came), and a close must never override it.
    const applied = await applyReport(this.#db, { merOrderId: payment.merOrderId, status: 'TRADE_CLOSED' }, source, {
      payload: { answer: 'query', errCode: 'NO_ORDER', closed: expired ? 'expired, never reached UMS' : 'never reached UMS' },
      onlyIfOpen: true,
    });
    if (applied.outcome === 'stale') return applied.payment;
    this.#log?.info({ merOrderId: payment.merOrderId }, 'payment closed: UMS never had the order and it can no longer be paid');
    return applied.payment;
  }

  async close(merOrderId: string): Promise<PaymentRow> {
    const payment = await this.#load(merOrderId);
    if (payment.status === 'TRADE_CLOSED') return payment;
    if (!isOpen(payment.status as PaymentStatus)) {
      throw new PaymentError('CONFLICT', `payment ${merOrderId} is ${payment.status}; only unpaid orders can be closed (refund a paid one)`, {
        merOrderId,
      });
    }
    return this.closePayment(payment, 'MUTATION');
  }

  /**
   * Closes an unpaid order at UMS and stores the result. When UMS refuses (the buyer paid
   * meanwhile, say) or cannot answer, asks UMS what the order is and stores that; throws only
   * when the order is still open afterwards.
   */
  async closePayment(payment: PaymentRow, source: EventSource): Promise<PaymentRow> {
    const merOrderId = payment.merOrderId;
    try {
      // QR codes: bills close needs the qrCodeId, which is not stored; netpay close by billNo works
      // for a one-off bill (the simulator and the netpay API accept it).
      const answer = await this.#ums.close({ merOrderId }, this.#instMid(payment));
      // errCode SUCCESS on close means the order is closed, whatever else the answer says; but it
      // is our reading of the answer, not a status UMS reported, so it only closes what is still
      // open (a notice of payment may have been stored while UMS was being asked).
      const applied = await applyReport(this.#db, { merOrderId, status: 'TRADE_CLOSED' }, source, {
        payload: { answer: 'close', errCode: answer.errCode },
        onlyIfOpen: true,
      });
      return applied.payment;
    } catch (err) {
      if (!(err instanceof UmsError)) throw err;
      this.#log?.warn({ merOrderId, errCode: err.errCode }, 'close refused or unanswered; asking UMS for the order state');
      let after: PaymentRow = payment;
      try {
        after = await this.syncPayment(payment, source);
      } catch {
        // keep the close error below
      }
      if (!isOpen(after.status as PaymentStatus)) return after;
      throw toPaymentError(err, { merOrderId });
    }
  }

  // -------------------------------------------------------------------------------------------
  // refund

  async refund(input: RefundPaymentInput, opts: CommandOptions = {}): Promise<RefundRow> {
    checkAmount('refundAmount', input.refundAmount);
    if (typeof input.merOrderId !== 'string' || input.merOrderId === '') throw badInput('merOrderId', 'merOrderId is required');
    if (input.refundOrderId !== undefined) this.#checkId('refundOrderId', input.refundOrderId);
    checkText('description', input.description);
    return this.#idempotency.run('refundPayment', opts.idempotencyKey, input, (attempt) => this.#refund(input, attempt));
  }

  async #refund(input: RefundPaymentInput, attempt: Attempt): Promise<RefundRow> {
    const { id: refundOrderId, ours } = this.#orderIdFor(input.refundOrderId, attempt);
    if (ours) {
      // An earlier run under this Idempotency-Key may have stored (and sent) this very refund.
      const [earlier] = await this.#db.select().from(refunds).where(eq(refunds.refundOrderId, refundOrderId));
      if (earlier) return this.#resumeRefund(input, earlier);
    }
    const { payment, refund } = await this.#reserveRefund(input, refundOrderId);
    return this.#askRefund(payment, refund);
  }

  /**
   * A retry (or take-over) finds the refund an earlier run stored. Still pending: the refund is
   * sent again with the SAME refundOrderId, which UMS deduplicates (a refund that arrived is
   * answered, not repeated). Settled: answered as it stands. Never a second refundOrderId.
   */
  async #resumeRefund(input: RefundPaymentInput, refund: RefundRow): Promise<RefundRow> {
    const ids = { merOrderId: refund.merOrderId, refundOrderId: refund.refundOrderId };
    if (refund.merOrderId !== input.merOrderId || refund.refundAmount !== input.refundAmount) {
      throw new PaymentError('CONFLICT', `a refund with refundOrderId ${refund.refundOrderId} already exists`, ids);
    }
    this.#log?.warn({ ...ids, status: refund.status }, 'refund: resuming an earlier attempt under the same Idempotency-Key');
    if (!(PENDING_REFUND_STATUSES as readonly string[]).includes(refund.status)) return refund;
    return this.#askRefund(await this.#load(refund.merOrderId), refund, { resent: true });
  }

  /**
   * Sends a stored (PROCESSING or UNKNOWN) refund to UMS and records the answer. `resent`: an
   * earlier run may have sent it already, so even a clear refusal now does not prove that no
   * money moved (the first request may have been carried out).
   */
  async #askRefund(payment: PaymentRow, refund: RefundRow, how: { resent: boolean } = { resent: false }): Promise<RefundRow> {
    const { merOrderId, refundOrderId, refundAmount } = refund;
    let answer: RefundResponse;
    try {
      answer = await this.#sendRefund(payment, refund);
    } catch (err) {
      if (err instanceof UmsError && err.outcomeUnknown) {
        this.#log?.warn({ merOrderId, refundOrderId, errCode: err.errCode }, 'refund: outcome unknown; refund-query will settle it');
        return this.#recordRefund(payment, refund, undefined, 'UNKNOWN', 'MUTATION');
      }
      if (!(err instanceof UmsError)) throw err; // the refund stays PROCESSING for refund-query
      if (how.resent || !refundCertainlyNotMade(err)) {
        // Answered as pending (UNKNOWN), like an ambiguous outcome: refund-query keeps asking.
        await this.#refundInDoubt(payment, refund, err, 'MUTATION');
        return this.#refundRow(refund);
      }
      await this.#recordRefund(payment, refund, undefined, 'FAIL', 'MUTATION');
      throw toPaymentError(err, { merOrderId, refundOrderId });
    }
    const row = await this.#recordRefund(payment, refund, answer, refundStatusOf(answer), 'MUTATION');
    this.#log?.info({ merOrderId, refundOrderId, refundAmount, status: row.status }, 'refund answered');
    return row;
  }

  /** POST the refund (bills refund for QR codes); the refund row carries every field needed. */
  #sendRefund(payment: PaymentRow, refund: RefundRow): Promise<RefundResponse> {
    const common = {
      refundOrderId: refund.refundOrderId,
      refundAmount: refund.refundAmount,
      ...optional('refundDesc', refund.description),
    };
    return isBillsChannel(payment.channel as PaymentChannel)
      ? this.#ums.billsRefund({ billNo: payment.merOrderId, billDate: beijingDate(payment.createdAt), ...common })
      : this.#ums.refund({ merOrderId: payment.merOrderId, ...common }, this.#instMid(payment));
  }

  /**
   * Checks the refund against the payment with the payment row locked (two refunds racing cannot
   * both pass the remaining-amount check) and stores it PROCESSING before UMS is asked.
   */
  async #reserveRefund(input: RefundPaymentInput, refundOrderId: string): Promise<{ payment: PaymentRow; refund: RefundRow }> {
    return this.#db.transaction(async (tx) => {
      const [payment] = await tx.select().from(payments).where(eq(payments.merOrderId, input.merOrderId)).for('update');
      if (!payment) throw new PaymentError('NOT_FOUND', `no payment with merOrderId ${input.merOrderId}`, { merOrderId: input.merOrderId });
      if (!isPaidStatus(payment.status)) {
        throw new PaymentError('CONFLICT', `payment ${payment.merOrderId} is ${payment.status}; only paid orders can be refunded`, {
          merOrderId: payment.merOrderId,
        });
      }
      const [pending] = await tx
        .select({ sum: sql<string | number | null>`coalesce(sum(${refunds.refundAmount}), 0)` })
        .from(refunds)
        .where(and(eq(refunds.merOrderId, payment.merOrderId), inArray(refunds.status, [...PENDING_REFUND_STATUSES])));
      const remaining = payment.totalAmount - payment.refundedAmount - Number(pending?.sum ?? 0);
      if (input.refundAmount > remaining) {
        throw new PaymentError(
          'BAD_USER_INPUT',
          `refundAmount ${input.refundAmount} is more than the ${Math.max(remaining, 0)} fen that remain refundable on ${payment.merOrderId}`,
          { merOrderId: payment.merOrderId, field: 'refundAmount' },
        );
      }
      const refund = await insertRefundRequest(tx, {
        refundOrderId,
        merOrderId: payment.merOrderId,
        refundAmount: input.refundAmount,
        ...optional('description', input.description),
        nextSyncAt: new Date(this.#now().getTime() + this.#syncAfterMs),
      });
      return { payment, refund };
    });
  }

  /**
   * Asks UMS (refund-query) about a refund that is PROCESSING or UNKNOWN and stores the answer.
   * The scheduler's way of settling refunds; throws PaymentError when UMS could not answer.
   */
  async settleRefund(refund: RefundRow, source: EventSource): Promise<RefundRow> {
    const payment = await this.#load(refund.merOrderId);
    const ids = { merOrderId: refund.merOrderId, refundOrderId: refund.refundOrderId };
    let answer: RefundResponse;
    try {
      answer = await this.#ums.refundQuery(ids, this.#instMid(payment));
    } catch (err) {
      if (!(err instanceof UmsBusinessError && err.errCode === 'NO_ORDER')) throw toPaymentError(err, ids);
      // UMS has no such refund: our request never arrived. Send it again with the SAME
      // refundOrderId, which UMS deduplicates (a refund that did arrive is answered, not repeated).
      this.#log?.warn(ids, 'refund unknown at UMS; resending it with the same refundOrderId');
      try {
        answer = await this.#sendRefund(payment, refund);
      } catch (resendErr) {
        // A refund-query NO_ORDER may only lag behind a refund UMS did make, so a refused resend
        // is no proof that the refund failed: it stays pending (UNKNOWN) and a person looks.
        if (resendErr instanceof UmsError && !resendErr.outcomeUnknown && !(resendErr instanceof UmsAuthError)) {
          await this.#refundInDoubt(payment, refund, resendErr, source);
        }
        throw toPaymentError(resendErr, ids);
      }
    }
    return this.#recordRefund(payment, refund, answer, refundStatusOf(answer), source);
  }

  /**
   * UMS said no, but that does not prove that no refund was made: the refund is recorded UNKNOWN
   * (still pending, so the remaining amount stays reserved), refund-query keeps asking, and the
   * payment is flagged for an operator.
   */
  async #refundInDoubt(payment: PaymentRow, refund: RefundRow, err: UmsError, source: EventSource): Promise<void> {
    const ids = { merOrderId: refund.merOrderId, refundOrderId: refund.refundOrderId };
    this.#log?.warn({ ...ids, errCode: err.errCode }, 'refund: UMS refused, but the refund may have been made; left UNKNOWN for review');
    await this.#recordRefund(payment, refund, undefined, 'UNKNOWN', source);
    await flagPaymentForReview(this.#db, refund.merOrderId, `${REFUND_IN_DOUBT}:${refund.refundOrderId}`);
  }

  async #refundRow(refund: RefundRow): Promise<RefundRow> {
    const [row] = await this.#db.select().from(refunds).where(eq(refunds.refundOrderId, refund.refundOrderId));
    return row ?? refund;
  }

  async #recordRefund(
    payment: PaymentRow,
    refund: RefundRow,
    answer: RefundResponse | undefined,
    status: RefundStatus,
    source: EventSource,
  ): Promise<RefundRow> {
    // Restate the payment's latest status unless the money went back: only the refund row changes.
    const latest = await this.#load(payment.merOrderId);
    const report = reportFromRefund(latest.merOrderId, latest.status as PaymentStatus, refund, answer, status);
    await applyReport(this.#db, report, source, {
      payload: { answer: 'refund', refundOrderId: refund.refundOrderId, refundStatus: status, errCode: answer?.errCode ?? null },
    });
    return this.#refundRow(refund);
  }

  // -------------------------------------------------------------------------------------------
  // callUms and the simulator

  async callUms(service: string, version: string, body: unknown): Promise<unknown> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw badInput('body', 'body must be a JSON object (the UMS request fields)');
    }
    try {
      return await this.#client.call(service.replace(/^\/+/, ''), version, body as Record<string, unknown>);
    } catch (err) {
      // A refusal is still UMS's answer: an operator calling the raw API wants to see it.
      if (err instanceof UmsBusinessError) return err.response;
      if (err instanceof UmsConfigError || err instanceof UmsInputError) throw badInput('service', err.message);
      throw toPaymentError(err, {});
    }
  }

  simulatePayment?: (merOrderId: string, outcome: SimulatedOutcome) => Promise<PaymentRow> = async (merOrderId, outcome) => {
    const simulator = this.#simulator;
    if (!simulator) throw new PaymentError('CONFLICT', 'simulatePayment is only available in simulator mode');
    if (outcome !== 'TRADE_SUCCESS' && outcome !== 'TRADE_CLOSED') {
      throw badInput('outcome', 'outcome must be TRADE_SUCCESS or TRADE_CLOSED');
    }
    const before = await this.#load(merOrderId);
    try {
      await simulator.pay(merOrderId, { outcome, notify: true });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new PaymentError('CONFLICT', `the simulator refused: ${message}`, { merOrderId });
    }
    // The simulator now notifies the gateway; wait for that to be stored, so the answer shows
    // the change with source NOTIFY. If it does not come in time, ask UMS like the scheduler would.
    const deadline = Date.now() + this.#simulateWaitMs;
    while (Date.now() < deadline) {
      const now = await this.#load(merOrderId);
      if (now.status !== before.status) return now;
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.syncPayment(await this.#load(merOrderId), 'SYNC');
  };

  // -------------------------------------------------------------------------------------------

  async #load(merOrderId: string): Promise<PaymentRow> {
    const [row] = await this.#db.select().from(payments).where(eq(payments.merOrderId, merOrderId));
    if (!row) throw new PaymentError('NOT_FOUND', `no payment with merOrderId ${merOrderId}`, { merOrderId });
    return row;
  }

  #instMid(payment: PaymentRow): InstMid {
    if (payment.instMid) return payment.instMid as InstMid;
    const channel = payment.channel as PaymentChannel | null;
    return channel && (PAYMENT_CHANNELS as readonly string[]).includes(channel) ? instMidFor(channel) : 'MINIDEFAULT';
  }
}

/**
 * After a refund request failed without an ambiguous outcome: is it certain that no refund was
 * made? Yes when UMS refused the request with one of its documented, unambiguous errCodes
 * (BAD_REQUEST, OPERATION_NOT_ALLOWED, …), or when the request never left or was refused at the
 * door (credentials, configuration, input checked before sending, no connection). An errCode we
 * do not know is not a clear refusal.
 */
function refundCertainlyNotMade(err: UmsError): boolean {
  if (err.outcomeUnknown) return false;
  if (err instanceof UmsBusinessError) return err.meaning !== undefined;
  return true;
}

/** Statuses in which "UMS has no such order" is plausible rather than alarming. */
function neverReachedUms(status: string): boolean {
  return status === 'NEW_ORDER' || status === 'UNKNOWN';
}

export function createPaymentCommands(options: PaymentServiceOptions): PaymentService {
  return new PaymentService(options);
}

/** The first time the scheduler asks about a new order: after the quiet period, or at expiry. */
export function firstSyncAt(now: Date, afterMs: number, expireTime: Date | undefined): Date {
  const after = now.getTime() + afterMs;
  return new Date(expireTime ? Math.min(after, expireTime.getTime()) : after);
}

/** A UmsError as the PaymentError the API user sees: refusal or unavailability, never secrets. */
export function toPaymentError(err: unknown, details: { merOrderId?: string; refundOrderId?: string }): PaymentError {
  if (err instanceof PaymentError) return err;
  // The operations refused the input before sending (validation here should have caught it).
  if (err instanceof UmsInputError) return new PaymentError('BAD_USER_INPUT', err.message, details);
  if (err instanceof UmsBusinessError && !err.outcomeUnknown) {
    const text = err.errMsg ? `: ${err.errMsg}` : err.meaning ? ` (${err.meaning})` : '';
    return new PaymentError('UMS_REJECTED', `UMS refused with ${err.errCode}${text}`, { ...details, errCode: err.errCode }, { cause: err });
  }
  if (err instanceof UmsAuthError) {
    return new PaymentError('UMS_UNAVAILABLE', 'UMS refused the gateway’s credentials (check UMS_APP_ID / UMS_APP_KEY and the clock)', {
      ...details,
      ...(err.errCode ? { errCode: err.errCode } : {}),
    });
  }
  if (err instanceof UmsError) {
    const what = err.outcomeUnknown ? 'UMS did not answer clearly; the outcome is unknown and will be settled by query' : 'UMS could not be reached';
    return new PaymentError('UMS_UNAVAILABLE', what, { ...details, ...(err.errCode ? { errCode: err.errCode } : {}) }, { cause: err });
  }
  return new PaymentError('UMS_UNAVAILABLE', 'UMS call failed', details, { cause: err });
}

function checkAmount(field: string, value: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_AMOUNT_FEN) {
    throw badInput(field, `${field} must be a whole number of fen from 1 to ${MAX_AMOUNT_FEN}`);
  }
}

function checkText(field: string, value: string | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length > MAX_TEXT) throw badInput(field, `${field} must be text of at most ${MAX_TEXT} characters`);
}

function optional<K extends string, V>(key: K, value: V | undefined | null): Partial<Record<K, V>> {
  return value === undefined || value === null ? {} : ({ [key]: value } as Record<K, V>);
}
