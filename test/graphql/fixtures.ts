/** Payments written the way the gateway writes them: through the ledger. */
import { DEMO } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { applyReport, insertNewOrder } from '../../src/payments/ledger.js';

let counter = 0;
export function orderId(): string {
  return `${DEMO.sourceId}${Date.now()}${String(++counter).padStart(4, '0')}G`;
}

export async function newOrder(db: Database, options: { totalAmount?: number; mid?: string; merOrderId?: string } = {}): Promise<string> {
  const merOrderId = options.merOrderId ?? orderId();
  await insertNewOrder(db, { merOrderId, totalAmount: options.totalAmount ?? 100, mid: options.mid ?? DEMO.mid, tid: DEMO.tid, channel: 'QR_CODE' });
  return merOrderId;
}

export async function pay(db: Database, merOrderId: string, totalAmount = 100, mid: string = DEMO.mid): Promise<void> {
  await applyReport(
    db,
    { merOrderId, status: 'TRADE_SUCCESS', totalAmount, mid, tid: DEMO.tid, buyerPayAmount: totalAmount, targetSys: 'WXPay', payTime: new Date() },
    'NOTIFY',
    { payload: { status: 'TRADE_SUCCESS', merOrderId } },
  );
}

export async function refund(db: Database, merOrderId: string, refundOrderId: string, refundAmount: number, totalAmount = 100): Promise<void> {
  await applyReport(db, { merOrderId, status: 'TRADE_REFUND', totalAmount, refund: { refundOrderId, refundAmount } }, 'NOTIFY');
}
