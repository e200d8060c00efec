/**
 * The demo storefront's page: the merchant's side (create, refund) on the left, the shopper's
 * side (QR code, pay link, live status and events) on the right. Markup is in index.html; this
 * file wires it to the gateway (gateway.ts) and keeps the page's few pieces of state.
 */
import { toDataURL } from 'qrcode';
import type { PaymentChannel, PaymentStatus } from '../../src/graphql/client/index.js';
import { clientSecretOf, GatewayError, merchant, watchPayment, type Change, type Created, type Watcher } from './gateway.js';
import { clock, reachable, STATUS_TEXT, yuan } from './format.js';

const MAX_AMOUNT_FEN = 100_000_000;
const PENDING_REFUND = new Set(['PROCESSING', 'UNKNOWN']);

function $<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`storefront: #${id} is missing from index.html`);
  return element as T;
}

const ui = {
  form: $<HTMLFormElement>('order'),
  amount: $<HTMLInputElement>('amount'),
  amountError: $<HTMLParagraphElement>('amount-error'),
  price: $<HTMLOutputElement>('price'),
  channel: $<HTMLSelectElement>('channel'),
  create: $<HTMLButtonElement>('create'),
  calls: $<HTMLOListElement>('calls'),
  refundBox: $<HTMLDivElement>('refund-box'),
  refund: $<HTMLButtonElement>('refund'),
  refundStatus: $<HTMLElement>('refund-status'),
  shopperTitle: $<HTMLHeadingElement>('shopper-title'),
  empty: $<HTMLDivElement>('empty'),
  payment: $<HTMLDivElement>('payment'),
  qr: $<HTMLImageElement>('qr'),
  payHint: $<HTMLParagraphElement>('pay-hint'),
  payLink: $<HTMLAnchorElement>('pay-link'),
  merOrderId: $<HTMLElement>('merOrderId'),
  total: $<HTMLElement>('total'),
  status: $<HTMLElement>('status'),
  statusText: $<HTMLParagraphElement>('status-text'),
  connection: $<HTMLParagraphElement>('connection'),
  events: $<HTMLOListElement>('events'),
};

interface Current {
  merOrderId: string;
  totalAmount: number;
  refundedAmount: number;
  status: PaymentStatus;
  watcher: Watcher;
  /** A refund sent and not settled yet: its status is read again when the payment changes. */
  pendingRefund: string | undefined;
  /** The newest change listed (its `version`). */
  shownVersion: number;
}

let current: Current | undefined;

function item(list: HTMLOListElement, ...parts: (string | Node)[]): HTMLLIElement {
  const li = document.createElement('li');
  li.append(...parts);
  list.append(li);
  return li;
}

function el(tag: string, text: string, attributes: Record<string, string> = {}): HTMLElement {
  const element = document.createElement(tag);
  element.textContent = text;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

function logCall(what: string, outcome: string, failed = false): void {
  const call = document.createElement('div');
  call.append(el('code', what), el('span', `→ ${outcome}`, { class: 'outcome' }));
  const li = item(ui.calls, el('time', clock(new Date())), call);
  if (failed) li.classList.add('error');
}

function amountValue(): number | undefined {
  const raw = ui.amount.value.trim();
  const fen = Number(raw);
  if (raw === '' || !Number.isInteger(fen) || fen < 1 || fen > MAX_AMOUNT_FEN) return undefined;
  return fen;
}

function showAmountError(message: string | undefined): void {
  ui.amountError.hidden = message === undefined;
  ui.amountError.textContent = message ?? '';
  ui.amount.setAttribute('aria-invalid', String(message !== undefined));
}

function showStatus(status: PaymentStatus): void {
  const meaning = STATUS_TEXT[status];
  ui.status.textContent = status;
  ui.status.dataset.tone = meaning.tone;
  ui.statusText.textContent = meaning.text;
  document.title = `${status} · Demo shop`;
}

function showRefundBox(): void {
  if (!current) return;
  const paid = current.status === 'TRADE_SUCCESS' || current.status === 'TRADE_REFUND';
  const remaining = current.totalAmount - current.refundedAmount;
  ui.refundBox.hidden = !paid;
  ui.refund.textContent = remaining > 0 ? `Refund ${yuan(remaining)}` : 'Refunded in full';
  ui.refund.disabled = remaining <= 0 || current.pendingRefund !== undefined;
}

async function drawCode(link: string, label: string): Promise<void> {
  ui.qr.src = await toDataURL(link, { width: 216, margin: 1, errorCorrectionLevel: 'M' });
  ui.qr.alt = label;
}

function onChange(payment: Current, change: Change): void {
  if (current !== payment) return; // a change of an earlier order still on its way
  // After a reconnect the gateway sends the current state again: shown once in the list.
  if (change.version > payment.shownVersion) {
    payment.shownVersion = change.version;
    listChange(change);
  }
  payment.status = change.payment.status;
  payment.refundedAmount = change.payment.refundedAmount;
  showStatus(payment.status);
  showRefundBox();
  if (payment.pendingRefund) void settleRefund(payment);
}

function listChange(change: Change): void {
  const source = el('span', change.source, { class: 'source', 'data-source': change.source });
  const transition = change.previousStatus ? `${change.previousStatus} → ${change.status}` : change.status;
  item(ui.events, el('time', clock(change.at)), source, el('code', transition));
}

/** Reads the pending refund again (a change of the payment may be its settlement). */
async function settleRefund(payment: Current): Promise<void> {
  try {
    const read = await merchant.read(payment.merOrderId);
    const refund = read?.refunds.find((r) => r.refundOrderId === payment.pendingRefund);
    if (!refund || current !== payment) return;
    ui.refundStatus.textContent = refund.status;
    if (!PENDING_REFUND.has(refund.status)) {
      logCall(`payment(merOrderId) refunds`, `refund ${refund.status}`);
      payment.pendingRefund = undefined;
      showRefundBox();
    }
  } catch (err) {
    logCall('payment(merOrderId)', message(err), true);
  }
}

function message(err: unknown): string {
  if (err instanceof GatewayError && (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN')) {
    return `${err.code}: ${err.message} (this demo page sends no API key; in simulator mode the gateway needs none)`;
  }
  if (err instanceof GatewayError) return err.code ? `${err.code}: ${err.message}` : err.message;
  return err instanceof Error ? err.message : String(err);
}

async function show(created: Created): Promise<void> {
  const { payment } = created;
  const link = created.qrCode ?? created.payUrl;
  const h5 = created.qrCode === null && created.payUrl !== null;
  ui.empty.hidden = true;
  ui.payment.hidden = false;
  ui.events.replaceChildren();
  ui.merOrderId.textContent = payment.merOrderId;
  ui.total.textContent = yuan(payment.totalAmount);
  ui.refundStatus.textContent = 'none';
  showStatus(payment.status);
  if (link) {
    const href = reachable(link);
    ui.payLink.href = href;
    ui.payLink.textContent = h5 ? 'Open the H5 pay page' : 'Open the cashier';
    ui.payHint.textContent = h5 ? 'Open the pay page on this device, or scan it with a phone:' : 'Scan the code with a phone, or open the link:';
    await drawCode(href, `QR code of the ${h5 ? 'pay page' : 'cashier'} for order ${payment.merOrderId}`);
  }
  ui.shopperTitle.focus();
}

async function createPayment(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const fen = amountValue();
  if (fen === undefined) {
    showAmountError(`Enter a whole number of fen from 1 to ${MAX_AMOUNT_FEN}.`);
    ui.amount.focus();
    return;
  }
  showAmountError(undefined);
  const channel = ui.channel.value as PaymentChannel;
  ui.create.disabled = true;
  const previous = current;
  current = undefined;
  try {
    await previous?.watcher.stop();
    const created = await merchant.create(channel, fen);
    const { payment } = created;
    logCall(`createPayment(${channel}, ${fen})`, `${payment.merOrderId} ${payment.status}`);
    const secret = clientSecretOf(created);
    const state: Current = {
      merOrderId: payment.merOrderId,
      totalAmount: payment.totalAmount,
      refundedAmount: payment.refundedAmount,
      status: payment.status,
      pendingRefund: undefined,
      shownVersion: 0,
      watcher: { stop: async () => {} },
    };
    current = state;
    await show(created);
    ui.connection.textContent = secret ? 'Watching with the payment’s clientSecret…' : 'Watching…';
    state.watcher = watchPayment(payment.merOrderId, secret, {
      change: (change) => onChange(state, change),
      connection: (connection) => {
        if (current !== state) return;
        const how = secret ? ' (with the payment’s clientSecret)' : '';
        const text = { connecting: 'Connecting…', live: `Live over WebSocket${how}`, reconnecting: 'Connection lost, reconnecting…', closed: 'Live updates stopped.' };
        ui.connection.textContent = text[connection];
      },
      error: (err) => {
        if (current === state) ui.connection.textContent = `Live updates failed: ${message(err)}`;
      },
    });
    showRefundBox();
  } catch (err) {
    logCall(`createPayment(${channel}, ${fen})`, message(err), true);
  } finally {
    ui.create.disabled = false;
  }
}

async function refund(): Promise<void> {
  const payment = current;
  if (!payment) return;
  const amount = payment.totalAmount - payment.refundedAmount;
  ui.refund.disabled = true;
  ui.refundStatus.textContent = 'sending…';
  ui.refundStatus.focus();
  try {
    const answer = await merchant.refund(payment.merOrderId, amount);
    logCall(`refundPayment(${payment.merOrderId}, ${amount})`, `${answer.refundOrderId} ${answer.status}`);
    if (current !== payment) return;
    ui.refundStatus.textContent = answer.status;
    payment.pendingRefund = PENDING_REFUND.has(answer.status) ? answer.refundOrderId : undefined;
    if (answer.status === 'SUCCESS') payment.refundedAmount += answer.refundAmount;
    // Its settlement may have been pushed before this answer came back: read it once now; later
    // changes of the payment read it again (no timer, no polling).
    if (payment.pendingRefund) void settleRefund(payment);
  } catch (err) {
    logCall(`refundPayment(${payment.merOrderId}, ${amount})`, message(err), true);
    if (current === payment) ui.refundStatus.textContent = 'failed';
  } finally {
    showRefundBox();
  }
}

ui.amount.addEventListener('input', () => {
  const fen = amountValue();
  ui.price.textContent = fen === undefined ? '—' : yuan(fen);
  if (fen !== undefined) showAmountError(undefined);
});
ui.form.addEventListener('submit', (event) => void createPayment(event));
ui.refund.addEventListener('click', () => void refund());
ui.refundStatus.tabIndex = -1;
