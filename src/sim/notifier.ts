/**
 * Posts signed notifications to merchants (PROTOCOL.md §4): form-encoded, signed per §4.2 with
 * the communication key, a fresh notifyId and ns each, re-sent on every answer other than a 2xx
 * `SUCCESS` after the delays in `backoffMs` (one attempt per entry; the first waits backoffMs[0]).
 *
 * Every attempt is kept in `deliveries` and announced as an 'attempt' event, every finished
 * delivery as 'settled', so tests can wait for exactly what a merchant saw.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { notifySign, type NotifySignType } from '../ums/sign.js';
import * as fake from './fake-ids.js';

const MAX_KEPT = 10_000;

export interface DeliveryAttempt {
  attempt: number;
  at: Date;
  /** HTTP status of the merchant's answer; absent when the request failed (network, timeout). */
  httpStatus?: number;
  /** The merchant's answer body (first 200 characters). */
  answer?: string;
  error?: string;
  ok: boolean;
}

export interface Delivery {
  id: number;
  url: string;
  notifyId: string;
  merOrderId: string;
  status: string;
  /** The decoded fields as sent, `sign` included. */
  fields: Readonly<Record<string, string>>;
  /** The exact form body posted. */
  body: string;
  /** Which scenario produced or shaped it (duplicate, concurrent, stale, wrong-key, delay, resend). */
  scenario?: string;
  state: 'pending' | 'delivered' | 'gave-up' | 'cancelled';
  attempts: DeliveryAttempt[];
}

export interface SendOptions {
  scenario?: string;
  /** Sign with a key the merchant does not have (a forged notification). */
  wrongKey?: boolean;
  /** The order's merchant's communication key (default: the notifier's, the first merchant's). */
  key?: string;
  /** Extra wait before the first attempt. */
  delayMs?: number;
  /** Reuse these signed fields (a second copy of the same notification). */
  copyOf?: Delivery;
}

export interface NotifierOptions {
  notifyKey: string;
  signType: NotifySignType;
  backoffMs: readonly number[];
  attemptTimeoutMs?: number;
  /** The simulator's clock, for the time of each attempt; default the real one. */
  now?: () => Date;
  log?: Logger;
}

export class Notifier extends EventEmitter<{ attempt: [Delivery, DeliveryAttempt]; settled: [Delivery] }> {
  /** The latest deliveries (at most MAX_KEPT), oldest first. */
  readonly deliveries: Delivery[] = [];
  #nextId = 1;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #abort = new AbortController();
  #closed = false;

  constructor(private readonly options: NotifierOptions) {
    super();
    if (options.backoffMs.length === 0) throw new TypeError('notifyBackoffMs needs at least one entry');
  }

  /** Signs `fields` (adding notifyId, ns, signType, sign) and starts delivering them to `url`. */
  send(url: string, fields: Record<string, string>, opts: SendOptions = {}): Delivery {
    let signed: Record<string, string>;
    if (opts.copyOf) {
      signed = { ...opts.copyOf.fields };
    } else {
      signed = { ...fields, notifyId: fake.notifyId(), ns: fake.ns(), signType: this.options.signType };
      const key = opts.wrongKey ? randomBytes(24).toString('base64') : (opts.key ?? this.options.notifyKey);
      signed.sign = notifySign(signed, key, this.options.signType);
    }
    const delivery: Delivery = {
      id: this.#nextId++,
      url,
      notifyId: signed.notifyId ?? '',
      merOrderId: signed.merOrderId ?? signed.billNo ?? '',
      status: signed.status ?? signed.billStatus ?? '',
      fields: signed,
      body: new URLSearchParams(signed).toString(),
      ...(opts.scenario ? { scenario: opts.scenario } : {}),
      state: 'pending',
      attempts: [],
    };
    this.deliveries.push(delivery);
    // A simulator left running for days must not grow without bound.
    if (this.deliveries.length > MAX_KEPT) this.deliveries.splice(0, this.deliveries.length - MAX_KEPT);
    this.#schedule(delivery, 0, opts.delayMs ?? 0);
    return delivery;
  }

  /**
   * Resolves with the first delivery (already settled or settling later) that matches. The
   * default bound is generous: it only decides how long a test that is already failing hangs.
   */
  waitFor(match: (d: Delivery) => boolean, timeoutMs = 15_000): Promise<Delivery> {
    const done = this.deliveries.find((d) => d.state !== 'pending' && match(d));
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const onSettled = (d: Delivery) => {
        if (!match(d)) return;
        clearTimeout(timer);
        this.off('settled', onSettled);
        resolve(d);
      };
      const timer = setTimeout(() => {
        this.off('settled', onSettled);
        reject(new Error(`no matching notification delivery settled within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('settled', onSettled);
    });
  }

  /** Calls `then` once `delivery` has settled (now, if it already has). */
  afterSettled(delivery: Delivery, then: () => void): void {
    if (delivery.state === 'delivered' || delivery.state === 'gave-up') return then();
    const onSettled = (d: Delivery) => {
      if (d !== delivery) return;
      this.off('settled', onSettled);
      then();
    };
    this.on('settled', onSettled);
  }

  /** Stops every pending retry and aborts requests in flight. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#abort.abort();
    this.removeAllListeners();
    for (const d of this.deliveries) if (d.state === 'pending') d.state = 'cancelled';
  }

  #schedule(delivery: Delivery, attemptIndex: number, extraDelayMs = 0): void {
    if (this.#closed) return;
    const wait = (this.options.backoffMs[attemptIndex] ?? 0) + extraDelayMs;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#attempt(delivery, attemptIndex);
    }, wait);
    this.#timers.add(timer);
  }

  async #attempt(delivery: Delivery, attemptIndex: number): Promise<void> {
    if (this.#closed) return;
    const attempt: DeliveryAttempt = { attempt: attemptIndex + 1, at: this.options.now?.() ?? new Date(), ok: false };
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
        body: delivery.body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.options.attemptTimeoutMs ?? 10_000)]),
      });
      const text = await response.text();
      attempt.httpStatus = response.status;
      attempt.answer = text.slice(0, 200);
      // UMS stops only on the plain answer SUCCESS (§4.3).
      attempt.ok = response.ok && text.trim() === 'SUCCESS';
    } catch (err) {
      attempt.error = err instanceof Error ? err.message : String(err);
    }
    if (this.#closed) return;
    delivery.attempts.push(attempt);
    this.options.log?.info(
      { merOrderId: delivery.merOrderId, status: delivery.status, notifyId: delivery.notifyId, attempt: attempt.attempt, httpStatus: attempt.httpStatus, ok: attempt.ok, error: attempt.error },
      'ums-sim: notification attempt',
    );
    this.emit('attempt', delivery, attempt);
    if (attempt.ok) {
      delivery.state = 'delivered';
    } else if (attemptIndex + 1 < this.options.backoffMs.length) {
      this.#schedule(delivery, attemptIndex + 1);
      return;
    } else {
      delivery.state = 'gave-up';
    }
    this.emit('settled', delivery);
  }
}
