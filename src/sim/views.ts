/** JSON views of the simulator's state for `/_sim/…` answers and the programmatic API. */
import type { Delivery } from './notifier.js';
import type { SimOrder } from './types.js';

export interface OrderView {
  merOrderId: string;
  channel: string;
  path: string;
  instMid: string;
  /** The merchant the order belongs to. */
  mid: string;
  tid: string;
  status: string;
  totalAmount: number;
  refundedAmount: number;
  targetSys: string;
  targetOrderId?: string;
  seqId: string;
  payTime?: string;
  settleDate?: string;
  notifyUrl?: string;
  expiresAt: string;
  history: { status: string; at: string }[];
  /** `settlesAt` and `outcome` while a refund is PROCESSING (the refund-processing scenario). */
  refunds: { refundOrderId: string; refundAmount: number; refundStatus: string; refundPayTime: string; settlesAt?: string; outcome?: string }[];
  billNo?: string;
  billDate?: string;
  qrCodeId?: string;
}

export function orderView(order: SimOrder): OrderView {
  return {
    merOrderId: order.merOrderId,
    channel: order.channel.name,
    path: order.channel.path,
    instMid: order.instMid,
    mid: order.mid,
    tid: order.tid,
    status: order.status,
    totalAmount: order.totalAmount,
    refundedAmount: order.refundedAmount,
    targetSys: order.channel.targetSys,
    ...(order.targetOrderId ? { targetOrderId: order.targetOrderId } : {}),
    seqId: order.seqId,
    ...(order.payTime ? { payTime: order.payTime.toISOString() } : {}),
    ...(order.settleDate ? { settleDate: order.settleDate } : {}),
    ...(order.notifyUrl ? { notifyUrl: order.notifyUrl } : {}),
    expiresAt: order.expiresAt.toISOString(),
    history: order.history.map((h) => ({ status: h.status, at: h.at.toISOString() })),
    refunds: order.refunds.map((r) => ({
      refundOrderId: r.refundOrderId,
      refundAmount: r.refundAmount,
      refundStatus: r.refundStatus,
      refundPayTime: r.refundPayTime.toISOString(),
      ...(r.pending ? { settlesAt: r.pending.settlesAt.toISOString(), outcome: r.pending.outcome } : {}),
    })),
    ...(order.channel.family === 'bills' ? { billNo: order.merOrderId, billDate: order.billDate, qrCodeId: order.qrCodeId } : {}),
  };
}

/** A delivery without its signature (control answers are not a place for signatures). */
export function deliveryView(d: Delivery): Record<string, unknown> {
  const { sign: _sign, ...fields } = d.fields;
  return {
    id: d.id,
    url: d.url,
    notifyId: d.notifyId,
    merOrderId: d.merOrderId,
    status: d.status,
    state: d.state,
    ...(d.scenario ? { scenario: d.scenario } : {}),
    fields,
    attempts: d.attempts.map((a) => ({ ...a, at: a.at.toISOString() })),
  };
}
