/**
 * syncPayment and closePayment: ask UMS about one order (or close it there) and store what it
 * says. Used by the mutations (sync, close), by the sync scheduler, and by the other commands
 * when an order's state is in doubt.
 *
 * Event sources: what an active query at UMS reports is stored with source SYNC, whoever asked
 * (a user's syncPayment, the scheduler, a create resumed after a failure); CONTRACT.md keeps
 * MUTATION for what a caller's own request changed (create, close, refund).
 */
import type { PaymentRow } from '../../db/schema.js';
import { UmsBusinessError, UmsError } from '../../ums/errors.js';
import { beijingDate } from '../../ums/time.js';
import type { CommandOptions } from '../commands-api.js';
import { PaymentError } from '../errors.js';
import { applyReport, type StatusReport } from '../ledger.js';
import { isOpen, type EventSource, type PaymentStatus } from '../status.js';
import { reportFromBillsQuery, reportFromQuery } from '../sync/reports.js';
import { forPayment, instMidOf, loadPayment, type CommandDeps } from './deps.js';
import { toPaymentError } from './ums-errors.js';

/** The syncPayment mutation: an active query, stored with source SYNC. */
export async function syncByUser(deps: CommandDeps, merOrderId: string, opts: CommandOptions = {}): Promise<PaymentRow> {
  return syncPayment(deps, await loadPayment(deps, merOrderId, opts.merchantId), 'SYNC', opts.actor);
}

/**
 * Asks UMS about one order (query, or bills query for QR codes) and stores what it says with
 * `source`. Throws PaymentError when UMS could not answer. `actor`: who asked (undefined: the
 * gateway itself, `system`).
 */
export async function syncPayment(anyDeps: CommandDeps, payment: PaymentRow, source: EventSource, actor?: string): Promise<PaymentRow> {
  const deps = forPayment(anyDeps, payment);
  const merOrderId = payment.merOrderId;
  const answer = await askUms(deps, payment);
  if (answer.kind === 'no-order') {
    if (neverReachedUms(payment.status)) return unknownAtUms(deps, payment, source, actor);
    throw toPaymentError(answer.error, { merOrderId });
  }
  if (answer.kind === 'unreadable') {
    deps.log?.warn({ merOrderId }, 'payment query: answer carried no known status');
    return payment;
  }
  const applied = await applyReport(deps.db, answer.report, source, { payload: { answer: 'query', status: answer.report.status }, actor });
  return applied.payment;
}

/**
 * What UMS says about one order: its report, with the refunded sum UMS reports where it does
 * (netpay query's refundAmount), or that UMS has no such order (NO_ORDER), or an answer with no
 * status we know. Throws PaymentError when UMS could not answer. Nothing is stored: syncPayment
 * and reconciliation decide what to do with it.
 */
export type UmsAnswer =
  | { kind: 'report'; report: StatusReport; umsRefunded: number | undefined }
  | { kind: 'no-order'; error: UmsBusinessError }
  | { kind: 'unreadable' };

export async function askUms(deps: CommandDeps, payment: PaymentRow): Promise<UmsAnswer> {
  const merOrderId = payment.merOrderId;
  try {
    if (payment.channel === 'QR_CODE') {
      const answer = await deps.ums.billsQuery({ billNo: merOrderId, billDate: beijingDate(payment.createdAt) });
      const report = reportFromBillsQuery(merOrderId, answer);
      return report ? { kind: 'report', report, umsRefunded: undefined } : { kind: 'unreadable' };
    }
    const answer = await deps.ums.query({ merOrderId }, instMidOf(payment));
    const report = reportFromQuery(merOrderId, answer);
    return report ? { kind: 'report', report, umsRefunded: answer.refundAmount } : { kind: 'unreadable' };
  } catch (err) {
    if (err instanceof UmsBusinessError && err.errCode === 'NO_ORDER') return { kind: 'no-order', error: err };
    throw toPaymentError(err, { merOrderId });
  }
}

/** Asks UMS about an order whose state is in doubt; on failure the scheduler will ask later. */
export async function syncQuietly(deps: CommandDeps, payment: PaymentRow, actor?: string): Promise<PaymentRow> {
  if (!isOpen(payment.status as PaymentStatus)) return payment;
  try {
    return await syncPayment(deps, payment, 'SYNC', actor);
  } catch {
    return payment;
  }
}

/** Statuses in which "UMS has no such order" is plausible rather than alarming. */
function neverReachedUms(status: string): boolean {
  return status === 'NEW_ORDER' || status === 'UNKNOWN';
}

/**
 * UMS does not know an order we have as NEW_ORDER or UNKNOWN: an H5 page never opened, or a
 * create that never arrived. Normal while the order is young; once it has expired (or is older
 * than UMS's own order lifetime) nobody can pay it any more, so it is closed here.
 */
async function unknownAtUms(deps: CommandDeps, payment: PaymentRow, source: EventSource, actor: string | undefined): Promise<PaymentRow> {
  const now = deps.now().getTime();
  const expired = payment.expireTime !== null && payment.expireTime.getTime() <= now;
  const tooOld = now - payment.createdAt.getTime() > deps.unknownAtUmsCloseMs;
  if (!expired && !tooOld) {
    deps.log?.debug({ merOrderId: payment.merOrderId }, 'payment query: UMS does not know the order yet');
    return payment;
  }
  // Decided here from a row read before the query: a payment may have been stored meanwhile
  // (the buyer paid, the notice came), and a close must never override it.
  const applied = await applyReport(deps.db, { merOrderId: payment.merOrderId, status: 'TRADE_CLOSED' }, source, {
    payload: { answer: 'query', errCode: 'NO_ORDER', closed: expired ? 'expired, never reached UMS' : 'never reached UMS' },
    onlyIfOpen: true,
    actor,
  });
  if (applied.outcome === 'stale') return applied.payment;
  deps.log?.info({ merOrderId: payment.merOrderId }, 'payment closed: UMS never had the order and it can no longer be paid');
  return applied.payment;
}

/** The closePayment mutation: only an unpaid order can be closed; one already closed is answered as is. */
export async function closeByUser(deps: CommandDeps, merOrderId: string, opts: CommandOptions = {}): Promise<PaymentRow> {
  const payment = await loadPayment(deps, merOrderId, opts.merchantId);
  if (payment.status === 'TRADE_CLOSED') return payment;
  if (!isOpen(payment.status as PaymentStatus)) {
    throw new PaymentError('CONFLICT', `payment ${merOrderId} is ${payment.status}; only unpaid orders can be closed (refund a paid one)`, {
      merOrderId,
    });
  }
  return closePayment(deps, payment, 'MUTATION', opts.actor);
}

/**
 * Closes an unpaid order at UMS and stores the result. When UMS refuses (the buyer paid
 * meanwhile, say) or cannot answer, asks UMS what the order is and stores that (an active query:
 * source SYNC); throws only when the order is still open afterwards.
 */
export async function closePayment(anyDeps: CommandDeps, payment: PaymentRow, source: EventSource, actor?: string): Promise<PaymentRow> {
  const deps = forPayment(anyDeps, payment);
  const merOrderId = payment.merOrderId;
  try {
    // QR codes: bills close needs the qrCodeId, which is not stored; netpay close by billNo works
    // for a one-off bill (the simulator and the netpay API accept it).
    const answer = await deps.ums.close({ merOrderId }, instMidOf(payment));
    // errCode SUCCESS on close means the order is closed, whatever else the answer says; but it
    // is our reading of the answer, not a status UMS reported, so it only closes what is still
    // open (a notice of payment may have been stored while UMS was being asked).
    const applied = await applyReport(deps.db, { merOrderId, status: 'TRADE_CLOSED' }, source, {
      payload: { answer: 'close', errCode: answer.errCode },
      onlyIfOpen: true,
      actor,
    });
    return applied.payment;
  } catch (err) {
    if (!(err instanceof UmsError)) throw err;
    deps.log?.warn({ merOrderId, errCode: err.errCode }, 'close refused or unanswered; asking UMS for the order state');
    let after: PaymentRow = payment;
    try {
      after = await syncPayment(deps, payment, 'SYNC', actor);
    } catch {
      // keep the close error below
    }
    if (!isOpen(after.status as PaymentStatus)) return after;
    throw toPaymentError(err, { merOrderId });
  }
}
