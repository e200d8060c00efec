/**
 * Split payments (分账, docs/protocol.md §12): at creation `divisionFlag` with `platformAmount`
 * (the platform's share) and `subOrders` (each sub-merchant's `mid` and share), the shares adding
 * up to the total; a refund of a split order names the sub-merchant and the platform's part,
 * adding up to the refund amount, each within what remains of that share.
 */
import type { RefundRow } from '../../db/schema.js';
import { isAmountFen } from '../../ums/amounts.js';
import { badInput } from '../errors.js';

export interface SubOrder {
  mid: string;
  totalAmount: number;
}

/** UMS: at most 20 sub-merchants per order; a mid is 8..32 letters or digits (PROTOCOL.md §5.1). */
export const MAX_SUB_ORDERS = 20;
const MID = /^[0-9A-Za-z]{8,32}$/;

function isShare(value: unknown): value is number {
  return value === 0 || isAmountFen(value);
}

function checkSubOrders(field: string, subOrders: unknown): asserts subOrders is SubOrder[] {
  if (!Array.isArray(subOrders) || subOrders.length === 0) throw badInput(field, `${field} must list at least one sub-merchant`);
  if (subOrders.length > MAX_SUB_ORDERS) throw badInput(field, `${field} may list at most ${MAX_SUB_ORDERS} sub-merchants`);
  const seen = new Set<string>();
  for (const [i, s] of (subOrders as { mid?: unknown; totalAmount?: unknown }[]).entries()) {
    if (typeof s.mid !== 'string' || !MID.test(s.mid)) throw badInput(field, `${field}[${i}].mid must be a merchant number of 8 to 32 letters or digits`);
    if (seen.has(s.mid)) throw badInput(field, `${field} names ${s.mid} twice`);
    seen.add(s.mid);
    if (!isShare(s.totalAmount)) throw badInput(field, `${field}[${i}].totalAmount must be whole fen, 0 or more`);
  }
}

const sum = (subOrders: readonly SubOrder[]) => subOrders.reduce((a, s) => a + s.totalAmount, 0);

/** The create's split fields: all or none, adding up to the total, never with a guarantee. */
export function checkDivision(input: { divisionFlag?: boolean; platformAmount?: number; subOrders?: readonly SubOrder[]; totalAmount: number; secureTransaction?: boolean; channel: string }): void {
  if (!input.divisionFlag) {
    if (input.subOrders !== undefined || input.platformAmount !== undefined) throw badInput('divisionFlag', 'subOrders and platformAmount need divisionFlag: true');
    return;
  }
  if (input.secureTransaction) throw badInput('divisionFlag', 'a split payment cannot also be a guaranteed payment (secureTransaction)');
  if (input.channel === 'QR_CODE') throw badInput('divisionFlag', 'split payments are not available for QR_CODE (bills) payments');
  if (!isShare(input.platformAmount)) throw badInput('platformAmount', 'platformAmount (the platform’s share, whole fen, 0 or more) is required with divisionFlag');
  checkSubOrders('subOrders', input.subOrders);
  const total = sum(input.subOrders) + input.platformAmount;
  if (total !== input.totalAmount) {
    throw badInput('subOrders', `subOrders (${sum(input.subOrders)}) plus platformAmount (${input.platformAmount}) must add up to totalAmount (${input.totalAmount})`);
  }
}

/**
 * A refund of a split order: one sub-merchant at a time (UMS's rule), plus the platform's part,
 * adding up to refundAmount, each within what that share has left after earlier refunds.
 */
export function checkRefundDivision(
  payment: { platformAmount: number | null; subOrders: unknown },
  input: { refundAmount: number; platformAmount?: number; subOrders?: readonly SubOrder[] },
  earlier: readonly Pick<RefundRow, 'status' | 'platformAmount' | 'subOrders'>[],
): void {
  if (!isShare(input.platformAmount)) throw badInput('platformAmount', 'a refund of a split payment needs platformAmount (the platform’s part, 0 or more)');
  checkSubOrders('subOrders', input.subOrders);
  if (input.subOrders.length !== 1) throw badInput('subOrders', 'a refund of a split payment refunds one sub-merchant at a time');
  if (sum(input.subOrders) + input.platformAmount !== input.refundAmount) {
    throw badInput('subOrders', `subOrders (${sum(input.subOrders)}) plus platformAmount (${input.platformAmount}) must add up to refundAmount (${input.refundAmount})`);
  }
  const live = earlier.filter((r) => r.status !== 'FAIL');
  const platformLeft = (payment.platformAmount ?? 0) - live.reduce((a, r) => a + (r.platformAmount ?? 0), 0);
  if (input.platformAmount > platformLeft) throw badInput('platformAmount', `platformAmount ${input.platformAmount} is more than the ${platformLeft} fen left of the platform’s share`);
  const original = (payment.subOrders as SubOrder[] | null) ?? [];
  for (const s of input.subOrders) {
    const share = original.find((o) => o.mid === s.mid);
    if (!share) throw badInput('subOrders', `${s.mid} has no share in this payment`);
    const used = live.reduce((a, r) => a + ((r.subOrders as SubOrder[] | null) ?? []).filter((o) => o.mid === s.mid).reduce((b, o) => b + o.totalAmount, 0), 0);
    if (s.totalAmount > share.totalAmount - used) throw badInput('subOrders', `${s.mid}: ${s.totalAmount} is more than the ${share.totalAmount - used} fen left of its share`);
  }
}
