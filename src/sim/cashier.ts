/**
 * The simulator's cashier: where QR codes point and H5 pay URLs redirect. A person (on a phone or
 * in a second tab) pays or cancels here, or picks one of the scripted outcomes the simulator
 * supports, each a button that arms a scenario for this order and then pays:
 *
 *   pay                 the buyer pays; the notification goes out at once
 *   cancel              the buyer gives up: TRADE_CLOSED
 *   pay-late            paid, the notification held 10 s (the page waits for it)
 *   pay-twice           paid, the notification delivered twice (the gateway applies it once)
 *   pay-silent          paid, no notification at all (the gateway learns it by querying: sync)
 *   pay-wrong-key       paid, the notification signed with a wrong key (refused; sync settles it)
 *   pay-slow-refund     paid; this order's next refund stays PROCESSING for 10 s, then succeeds
 *
 * Every page says plainly that this is the simulator. Buttons are forms (POST), so the page works
 * without script; the stable hooks are `data-testid` = the action's name.
 */
import { ControlError, type SimEngine } from './engine.js';
import type { ScenarioInput } from './scenarios.js';
import type { SimOrder } from './types.js';

/** What a cashier request is answered with (server.ts writes it). */
export interface CashierAnswer {
  status: number;
  html?: string;
  location?: string;
}

interface Action {
  label: string;
  hint: string;
  outcome: 'TRADE_SUCCESS' | 'TRADE_CLOSED';
  notify?: false;
  scenario?: (merOrderId: string) => ScenarioInput;
}

const LATE_MS = 10_000;

const ACTIONS = {
  pay: { label: 'Pay 支付', hint: 'The buyer pays; UMS notifies the shop at once.', outcome: 'TRADE_SUCCESS' },
  cancel: { label: 'Cancel 取消', hint: 'The buyer gives up: the order closes, nothing is paid.', outcome: 'TRADE_CLOSED' },
  'pay-late': {
    label: 'Pay, notify 10 s late',
    hint: 'The notification is held 10 s: the shop sees the payment when it arrives.',
    outcome: 'TRADE_SUCCESS',
    scenario: (merOrderId) => ({ kind: 'delay', delayMs: LATE_MS, merOrderId }),
  },
  'pay-twice': {
    label: 'Pay, notify twice',
    hint: 'The same notification arrives twice; the gateway applies it once.',
    outcome: 'TRADE_SUCCESS',
    scenario: (merOrderId) => ({ kind: 'duplicate', merOrderId }),
  },
  'pay-silent': {
    label: 'Pay, never notify',
    hint: 'No notification: the gateway finds the payment by querying UMS (SYNC), after PAYMENT_SYNC_AFTER_MS.',
    outcome: 'TRADE_SUCCESS',
    notify: false,
  },
  'pay-wrong-key': {
    label: 'Pay, notify with a wrong signature',
    hint: 'The gateway refuses the forged-looking notification; its query (SYNC) settles the order.',
    outcome: 'TRADE_SUCCESS',
    scenario: (merOrderId) => ({ kind: 'wrong-key', merOrderId }),
  },
  'pay-slow-refund': {
    label: 'Pay; a refund will take 10 s',
    hint: 'Paid at once; the shop’s next refund of this order stays PROCESSING for 10 s, then succeeds.',
    outcome: 'TRADE_SUCCESS',
    scenario: (merOrderId) => ({ kind: 'refund-processing', settleAfterMs: LATE_MS, outcome: 'SUCCESS', merOrderId }),
  },
} satisfies Record<string, Action>;

type ActionName = keyof typeof ACTIONS;
const MAIN: readonly ActionName[] = ['pay', 'cancel'];
const SCRIPTED: readonly ActionName[] = ['pay-late', 'pay-twice', 'pay-silent', 'pay-wrong-key', 'pay-slow-refund'];

function isAction(name: string): name is ActionName {
  return Object.hasOwn(ACTIONS, name);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function yuan(fen: number): string {
  return (fen / 100).toFixed(2);
}

const STYLE = `
:root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC","Microsoft YaHei",sans-serif;color:#1d2330;background:#f4f6f9;line-height:1.45}
*{box-sizing:border-box}body{max-width:28rem;margin:0 auto;padding:0 1rem 2rem}
.sim{background:#fff4d6;border:1px solid #e8c36a;color:#6b4a00;border-radius:.5rem;padding:.5rem .8rem;margin:1rem 0;font-size:.85rem}
.card{background:#fff;border:1px solid #dfe3ea;border-radius:.75rem;padding:1.1rem 1.25rem}
h1{font-size:1.2rem;margin:0 0 .25rem}.amount{font-size:2.2rem;font-weight:700;margin:.25rem 0 .75rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem;font-size:.9rem;margin:0}dt{color:#5d6678}dd{margin:0;word-break:break-all}
form{margin:0}button{font:inherit;font-weight:600;width:100%;padding:.85rem 1rem;margin-top:.75rem;border-radius:.55rem;border:1px solid transparent;cursor:pointer}
button:focus-visible,a:focus-visible{outline:3px solid #1a5fd0;outline-offset:2px}
.pay{background:#c8102e;color:#fff}.pay .hint{color:#ffe3e6}.cancel{background:#fff;border-color:#1d2330;color:#1d2330}
details{margin-top:1.25rem}summary{cursor:pointer;font-weight:600}
.scripted button{background:#eef1f6;color:#1d2330;text-align:left;font-weight:600}
.hint{display:block;font-weight:400;font-size:.8rem;color:#5d6678;margin-top:.15rem}
.ok{color:#13795b}.closed{color:#b3261e}
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style></head><body>
<p class="sim" role="note"><strong>UMS simulator</strong> — a stand-in for the 银联商务 cashier. No real money moves.</p>
${body}
</body></html>`;
}

function button(base: string, name: ActionName, className: string, autofocus = false): string {
  const action = ACTIONS[name];
  return `<form method="post" action="${base}/${name}"><button class="${className}" type="submit" data-testid="${name}"${autofocus ? ' autofocus' : ''} aria-describedby="hint-${name}">${escape(action.label)}<span class="hint" id="hint-${name}">${escape(action.hint)}</span></button></form>`;
}

function summary(order: SimOrder): string {
  return `<div class="amount">¥${yuan(order.totalAmount)}</div>
<dl><dt>Order</dt><dd>${escape(order.merOrderId)}</dd>
<dt>Channel</dt><dd>${escape(order.channel.name)} (${escape(order.channel.targetSys)})</dd>
${order.orderDesc ? `<dt>Description</dt><dd>${escape(order.orderDesc)}</dd>` : ''}
<dt>Status</dt><dd data-testid="sim-status">${escape(order.status)}</dd></dl>`;
}

export function cashierPage(engine: SimEngine, order: SimOrder): string {
  const base = `/_sim/cashier/${encodeURIComponent(order.merOrderId)}`;
  const actions = engine.store.isOpen(order)
    ? `${button(base, 'pay', 'pay', true)}${button(base, 'cancel', 'cancel')}
<details class="scripted"><summary>Scripted outcomes (what can go wrong)</summary>
${SCRIPTED.map((name) => button(base, name, 'script')).join('\n')}</details>`
    : `<p>This order is <strong>${escape(order.status)}</strong>: there is nothing to pay.</p>`;
  return page('收银台 Cashier (UMS simulator)', `<main class="card"><h1>收银台 Cashier</h1>${summary(order)}${actions}</main>`);
}

export function resultPage(order: SimOrder, action?: ActionName): string {
  const paid = order.status === 'TRADE_SUCCESS' || order.status === 'TRADE_REFUND';
  const heading = paid ? '支付成功 Paid' : order.status === 'TRADE_CLOSED' ? '已取消 Cancelled' : escape(order.status);
  const note = action && !MAIN.includes(action) ? `<p>${escape(ACTIONS[action].hint)}</p>` : '';
  return page(
    paid ? 'Paid (UMS simulator)' : 'Closed (UMS simulator)',
    `<main class="card" role="status"><h1 class="${paid ? 'ok' : 'closed'}">${heading}</h1>${summary(order)}${note}
<p>You can close this page: the shop’s page follows the payment by itself.</p></main>`,
  );
}

function html(status: number, body: string): CashierAnswer {
  return { status, html: body };
}

/** GET /_sim/cashier/:merOrderId, and POST …/:action (one of ACTIONS). */
export function handleCashier(engine: SimEngine, method: string, path: string): CashierAnswer {
  const m = /^\/_sim\/cashier\/([^/]+)(?:\/([a-z-]+))?$/.exec(path);
  let merOrderId: string | undefined;
  try {
    merOrderId = m ? decodeURIComponent(m[1]!) : undefined;
  } catch {
    merOrderId = undefined; // a malformed %-escape names no order
  }
  const order = merOrderId === undefined ? undefined : engine.store.get(merOrderId);
  if (!m || !order) return html(404, page('No such order (UMS simulator)', '<main class="card"><h1>No such order</h1></main>'));
  const name = m[2];
  if (method === 'GET' && name === undefined) {
    if (engine.store.isOpen(order)) engine.store.startPaying(order);
    return html(200, cashierPage(engine, order));
  }
  if (method !== 'POST' || name === undefined || !isAction(name)) return html(405, page('Not allowed (UMS simulator)', '<main class="card"><h1>Not allowed</h1></main>'));
  if (engine.store.isOpen(order)) {
    const action: Action = ACTIONS[name];
    if (action.scenario) engine.scenarios.add(action.scenario(order.merOrderId));
    try {
      engine.pay(order.merOrderId, { outcome: action.outcome, ...(action.notify === false ? { notify: false } : {}) });
    } catch (err) {
      if (!(err instanceof ControlError)) throw err; // closed meanwhile (expiry): shown below
    }
  }
  // The browser goes back to the merchant (display only; notifications carry the truth).
  if (order.returnUrl) return { status: 303, location: order.returnUrl };
  return html(200, resultPage(order, name));
}
