/**
 * A small cashier page of the simulator's own: where H5 pay URLs redirect and bill QR codes point,
 * with Pay and Cancel buttons so a person can click through a payment.
 */
import type { SimEngine } from './engine.js';
import type { SimOrder } from './types.js';

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function yuan(fen: number): string {
  return (fen / 100).toFixed(2);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#222}
.card{border:1px solid #ddd;border-radius:.5rem;padding:1rem 1.25rem}
.amount{font-size:2rem;font-weight:600;margin:.5rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem;font-size:.9rem}dt{color:#666}
form{display:inline}button{font-size:1rem;padding:.6rem 1.4rem;margin:.75rem .5rem 0 0;border-radius:.4rem;border:0;cursor:pointer}
.pay{background:#d7000f;color:#fff}.cancel{background:#eee}
.note{color:#888;font-size:.8rem;margin-top:1rem}
</style></head><body>${body}<p class="note">UMS simulator — no real money moves.</p></body></html>`;
}

export function cashierPage(engine: SimEngine, order: SimOrder): string {
  const open = engine.store.isOpen(order);
  const base = `/_sim/cashier/${encodeURIComponent(order.merOrderId)}`;
  const buttons = open
    ? `<form method="post" action="${base}/pay"><button class="pay" type="submit">Pay 支付</button></form>
<form method="post" action="${base}/cancel"><button class="cancel" type="submit">Cancel 取消</button></form>`
    : `<p>This order is <strong>${escape(order.status)}</strong>; nothing to pay.</p>`;
  return page(
    '银联商务收银台 (simulator)',
    `<div class="card"><h1>收银台 Cashier</h1>
<div class="amount">¥${yuan(order.totalAmount)}</div>
<dl><dt>Order</dt><dd>${escape(order.merOrderId)}</dd>
<dt>Channel</dt><dd>${escape(order.channel.name)} (${escape(order.channel.targetSys)})</dd>
${order.orderDesc ? `<dt>Description</dt><dd>${escape(order.orderDesc)}</dd>` : ''}
<dt>Status</dt><dd>${escape(order.status)}</dd></dl>
${buttons}</div>`,
  );
}

export function resultPage(order: SimOrder): string {
  const paid = order.status === 'TRADE_SUCCESS';
  return page(
    paid ? 'Paid' : 'Closed',
    `<div class="card"><h1>${paid ? '支付成功 Paid' : '已取消 Cancelled'}</h1>
<div class="amount">¥${yuan(order.totalAmount)}</div><p>Order ${escape(order.merOrderId)} is now <strong>${escape(order.status)}</strong>.</p></div>`,
  );
}
