/**
 * The simulator's orders (and bills) in memory, and every move they can make. Expiry is applied
 * lazily: whoever looks at an order first closes it when its expireTime has passed, which is all
 * an observer of UMS can tell apart.
 *
 * With a journal (journal.ts) every order is saved as it changes and loaded again on start, so the
 * simulator survives a restart like the gateway does; without one it keeps nothing.
 */
import { date } from './clock.js';
import * as fake from './fake-ids.js';
import type { OrderJournal } from './journal.js';
import type { OrderStatus, PayOutcome, PendingRefund, RefundRecord, SimOrder } from './types.js';

const OPEN: readonly OrderStatus[] = ['NEW_ORDER', 'WAIT_BUYER_PAY'];

export class OrderStore {
  readonly #orders = new Map<string, SimOrder>();
  /** refundOrderId → merOrderId, so a refundOrderId is never reused across orders. */
  readonly #refundOwners = new Map<string, string>();

  constructor(
    private readonly now: () => Date,
    private readonly journal?: OrderJournal,
  ) {
    for (const order of journal?.load() ?? []) {
      this.#orders.set(order.merOrderId, order);
      for (const refund of order.refunds) this.#refundOwners.set(refund.refundOrderId, order.merOrderId);
    }
  }

  add(order: SimOrder): void {
    this.#orders.set(order.merOrderId, order);
    this.save(order);
  }

  /** Saves the order as it now stands (every move below does; call it after changing one by hand). */
  save(order: SimOrder): void {
    if (!this.journal) return;
    this.journal.append(order, this.#orders.size);
    if (this.journal.needsCompaction) this.journal.compact([...this.#orders.values()]);
  }

  get(merOrderId: string): SimOrder | undefined {
    const order = this.#orders.get(merOrderId);
    if (order) this.#expire(order);
    return order;
  }

  findByTargetOrderId(targetOrderId: string): SimOrder | undefined {
    for (const order of this.#orders.values()) {
      if (order.targetOrderId === targetOrderId) return this.get(order.merOrderId);
    }
    return undefined;
  }

  findByQrCodeId(qrCodeId: string): SimOrder | undefined {
    for (const order of this.#orders.values()) {
      if (order.qrCodeId === qrCodeId) return this.get(order.merOrderId);
    }
    return undefined;
  }

  /** The order that owns this refundOrderId, if any. */
  refundOwner(refundOrderId: string): SimOrder | undefined {
    const owner = this.#refundOwners.get(refundOrderId);
    return owner === undefined ? undefined : this.get(owner);
  }

  all(): SimOrder[] {
    return [...this.#orders.keys()].map((id) => this.get(id)!);
  }

  clear(): void {
    this.#orders.clear();
    this.#refundOwners.clear();
    this.journal?.compact([]);
  }

  isOpen(order: SimOrder): boolean {
    return OPEN.includes(order.status);
  }

  /** The buyer opened the cashier / started paying. */
  startPaying(order: SimOrder): void {
    if (order.status === 'NEW_ORDER') this.#move(order, 'WAIT_BUYER_PAY');
  }

  /**
   * The buyer paid (TRADE_SUCCESS) or the payment failed/was abandoned (TRADE_CLOSED). `amount`:
   * UMS records that as the paid totalAmount (the control endpoint's mismatch); `discount`: a
   * campaign discount, the buyer pays that much less.
   */
  settle(order: SimOrder, outcome: PayOutcome, amount?: number, discount = 0): void {
    this.startPaying(order);
    const at = this.now();
    if (outcome === 'TRADE_SUCCESS') {
      const targetSys = order.channel.targetSys;
      order.targetOrderId ??= fake.targetOrderId(targetSys, at);
      order.buyerId ??= fake.buyerId(targetSys);
      order.payTime = at;
      order.settleDate = date(at);
      if (amount !== undefined) order.totalAmount = amount;
      // A campaign discount: the buyer pays less, the merchant still receives the whole amount.
      if (discount > 0) order.discount = discount;
      order.buyerPayAmount = order.totalAmount - discount;
      order.receiptAmount = order.totalAmount;
      order.bankInfo = fake.bankInfo(targetSys);
      if (targetSys.startsWith('Alipay')) order.buyerUsername = fake.buyerUsername();
      // A guaranteed payment: paid, and held until the merchant completes or cancels it.
      if (order.secure) order.secureStatus = 'UNCOMPLETED';
      if (targetSys === 'UAC' || targetSys === 'UnionPay' || targetSys === 'ACP') {
        order.bankCardNo = fake.maskedCardNo();
        order.refId = fake.refId();
      }
    }
    this.#move(order, outcome);
  }

  close(order: SimOrder): void {
    this.#move(order, 'TRADE_CLOSED');
  }

  /**
   * Records a refund. Without `pending` the money goes back at once; with it the refund is
   * PROCESSING and holds its amount until settleRefund.
   */
  refund(order: SimOrder, refundOrderId: string, refundAmount: number, refundDesc?: string, pending?: PendingRefund): RefundRecord {
    const refund: RefundRecord = {
      refundOrderId,
      refundAmount,
      refundTargetOrderId: fake.refundTargetOrderId(this.now()),
      refundStatus: pending ? 'PROCESSING' : 'SUCCESS',
      refundPayTime: this.now(),
      ...(refundDesc === undefined ? {} : { refundDesc }),
      ...(pending ? { pending } : {}),
    };
    order.refunds.push(refund);
    this.#refundOwners.set(refundOrderId, order.merOrderId);
    if (!pending) this.#refunded(order, refund);
    this.save(order);
    return refund;
  }

  /** Ends a PROCESSING refund as it was told to; false when it was no longer pending. */
  settleRefund(order: SimOrder, refund: RefundRecord): boolean {
    const pending = refund.pending;
    if (!pending) return false;
    delete refund.pending;
    refund.refundStatus = pending.outcome;
    if (pending.outcome === 'SUCCESS') {
      refund.refundPayTime = this.now();
      this.#refunded(order, refund);
    }
    this.save(order);
    return true;
  }

  /** Fen held by PROCESSING refunds (not refunded yet, not refundable again either). */
  pendingRefundAmount(order: SimOrder): number {
    return order.refunds.reduce((sum, r) => (r.refundStatus === 'PROCESSING' ? sum + r.refundAmount : sum), 0);
  }

  #refunded(order: SimOrder, refund: RefundRecord): void {
    order.refundedAmount += refund.refundAmount;
    // Partial and full refunds both leave the order at TRADE_REFUND (what UMS's query shows).
    this.#move(order, 'TRADE_REFUND', true);
  }

  #move(order: SimOrder, status: OrderStatus, repeat = false): void {
    if (order.status === status && !repeat) return;
    order.status = status;
    order.history.push({ status, at: this.now() });
    this.save(order);
  }

  #expire(order: SimOrder): void {
    if (this.isOpen(order) && this.now().getTime() >= order.expiresAt.getTime()) {
      order.status = 'TRADE_CLOSED';
      order.history.push({ status: 'TRADE_CLOSED', at: order.expiresAt });
      this.save(order);
    }
  }
}
