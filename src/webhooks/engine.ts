/**
 * The webhook engine of one gateway instance: a dispatcher that turns the event feed into
 * delivery attempts, and workers that send them. Any number of instances run one each.
 *
 * Dispatcher: reads the feed (src/events/feed.ts) after a cursor kept in webhook_feed_cursor. The
 * cursor's row is locked FOR UPDATE SKIP LOCKED in the transaction that enqueues the attempts and
 * advances it, so one instance at a time moves it and an event is enqueued once (the attempts'
 * unique index makes a repeat harmless anyway). A new endpoint gets events from its creation on,
 * a re-enabled one from its enabling on (`feed_from`, the id of the transaction that created or
 * enabled it): the cursor jumps forward over what no endpoint wants, so the feed written while no
 * endpoint was enabled is never walked.
 *
 * Workers: claim due attempts (deliveries.ts: SKIP LOCKED, a lease, a per-endpoint cap), POST
 * them (sender.ts), record the outcome and queue the next attempt on the schedule. Outcomes wait
 * for the next claim and are recorded in its transaction, all those that finished meanwhile
 * together: one commit per round of claims, not two per attempt.
 *
 * No endpoint, no work: with no enabled endpoint the engine neither polls nor queries; it waits on
 * LISTEN (webhook_work: endpoints changed, attempts queued) and on the payment bus it already
 * shares. With endpoints it also looks every `pollMs`: an event becomes visible in the feed only
 * once older transactions end, which sends no notice of its own.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { webhookEndpoints, webhookFeedCursor } from '../db/schema.js';
import type { PaymentBus } from '../events/bus.js';
import { readFeed, type FeedPosition } from '../events/feed.js';
import type { ListenSource } from '../events/postgres-bus.js';
import { errorSummary } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { enqueue, nextDueAt, settleAndClaim, type AttemptOutcome, type ClaimedAttempt, type DeliveryStatus, type DispatchTarget, type SettledAttempt } from './deliveries.js';
import type { WebhookEndpoints } from './endpoints.js';
import { webhookBody } from './payload.js';
import { WEBHOOK_CHANNEL } from './rows.js';
import type { WebhookSender } from './sender.js';
import { webhookHeaders } from './signing.js';

export interface WebhookEngineOptions {
  db: Database;
  listener: ListenSource;
  bus: PaymentBus;
  endpoints: WebhookEndpoints;
  sender: WebhookSender;
  /** Delays before attempts 2, 3, …; past its end a delivery is FAILED. */
  retryScheduleMs: readonly number[];
  timeoutMs: number;
  log: Logger;
  /** Attempts in flight on this instance at once (default 16). */
  concurrency?: number;
  /** Attempts in flight per endpoint across instances (default 4). */
  perEndpoint?: number;
  /** Attempts in flight per merchant across instances (default 8, half an instance's slots). */
  perMerchant?: number;
  /** Safety-net look at the feed and the queue while endpoints exist (default 2000 ms). */
  pollMs?: number;
  /** Called with each attempt's recorded status (metrics). */
  onAttempt?: (status: DeliveryStatus | 'lost') => void;
}

const CURSOR_NAME = 'dispatcher';
const FEED_BATCH = 500;
/** Feed batches per dispatch round; more is left to the next round (others get a turn). */
const ROUNDS = 20;

export class WebhookEngine {
  readonly #o: Required<Omit<WebhookEngineOptions, 'onAttempt'>> & Pick<WebhookEngineOptions, 'onAttempt'>;
  readonly #owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  #targets: DispatchTarget[] = [];
  #closed = false;
  #listen: { close(): Promise<void> } | undefined;
  #unsubscribe: (() => void) | undefined;
  #poll: NodeJS.Timeout | undefined;
  #dueTimer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  /** Attempts made, waiting to be recorded by the next claim's transaction. */
  #settled: SettledAttempt[] = [];
  #dispatching: Promise<void> | undefined;
  #dispatchAgain = false;
  #working: Promise<void> | undefined;
  #workAgain = false;

  private constructor(options: WebhookEngineOptions) {
    this.#o = { concurrency: 16, perEndpoint: 4, perMerchant: 8, pollMs: 2000, ...options };
  }

  static async start(options: WebhookEngineOptions): Promise<WebhookEngine> {
    const engine = new WebhookEngine(options);
    await engine.#start();
    return engine;
  }

  async #start(): Promise<void> {
    this.#listen = await this.#o.listener.listen(WEBHOOK_CHANNEL, (payload) => {
      if (payload === 'endpoints') void this.#reloadTargets().then(() => this.kick());
      else this.#kickWork();
    });
    // A doorbell, not a listener: the dispatcher reads the feed itself, and a listener would make
    // the bus read every announced change with its payment for nothing.
    this.#unsubscribe = this.#o.bus.onCommitted(() => {
      if (this.#targets.length > 0) this.#kickDispatch();
    });
    await this.#reloadTargets();
    this.#poll = setInterval(() => {
      if (this.#targets.length > 0) this.kick();
    }, this.#o.pollMs);
    this.#poll.unref();
    this.kick();
  }

  /** Looks at the feed and the queue now (after a change this instance made). */
  kick(): void {
    this.#kickDispatch();
    this.#kickWork();
  }

  /** Waits until what is running settles (tests). */
  async idle(): Promise<void> {
    while (this.#dispatching || this.#working || this.#inFlight.size > 0) {
      await Promise.all([this.#dispatching, this.#working, ...this.#inFlight]);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#dueTimer);
    this.#unsubscribe?.();
    await this.#listen?.close();
    // Attempts under way finish (each is bounded by the timeout) and are recorded.
    await this.idle().catch(() => {});
  }

  async #reloadTargets(): Promise<void> {
    try {
      this.#targets = await loadTargets(this.#o.db);
    } catch (err) {
      this.#o.log.error({ err: errorSummary(err) }, 'could not load webhook endpoints');
    }
  }

  #kickDispatch(): void {
    if (this.#closed) return;
    if (this.#dispatching) {
      this.#dispatchAgain = true;
      return;
    }
    this.#dispatching = (async () => {
      do {
        this.#dispatchAgain = false;
        try {
          if (this.#targets.length > 0 && (await this.#dispatchRound())) this.#dispatchAgain = true;
        } catch (err) {
          this.#o.log.error({ err: errorSummary(err) }, 'webhook dispatch failed');
        }
      } while (this.#dispatchAgain && !this.#closed);
    })().finally(() => {
      this.#dispatching = undefined;
    });
  }

  /**
   * One round under the cursor's lock; true when more of the feed is waiting. The endpoints are
   * read in the round's transaction after each page of the feed, never from this instance's cache
   * (which only says whether to look at all): an endpoint not yet visible then was created by a
   * transaction still in flight when the page was read, so its feed_from (its creating
   * transaction's id) is past every event of the page, and moving the cursor over them takes
   * nothing from it.
   */
  async #dispatchRound(): Promise<boolean> {
    const { db } = this.#o;
    await db.insert(webhookFeedCursor).values({ name: CURSOR_NAME, txId: '0', eventId: 0 }).onConflictDoNothing();
    let queued = 0;
    const more = await db.transaction(async (tx) => {
      const [row] = await tx.select().from(webhookFeedCursor).where(eq(webhookFeedCursor.name, CURSOR_NAME)).for('update', { skipLocked: true });
      // Another instance is dispatching: it will see what we would have.
      if (!row) return false;
      let targets = await loadTargets(tx);
      this.#targets = targets;
      // No endpoint now: nothing to do (one created or enabled later starts at its own feed_from).
      if (targets.length === 0) return false;
      let cursor: FeedPosition = { txId: row.txId, id: row.eventId };
      // Nothing before the oldest endpoint's creation (or enabling) is for anyone: jump over it.
      // So the feed walked while every endpoint was disabled is not walked again on enabling.
      const from = targets.reduce((min, t) => (BigInt(t.feedFrom) < min ? BigInt(t.feedFrom) : min), BigInt(targets[0]?.feedFrom ?? '0'));
      if (BigInt(cursor.txId) < from) cursor = { txId: from.toString(), id: 0 };
      let hasMore = false;
      for (let round = 0; round < ROUNDS; round += 1) {
        const page = await readFeed(tx, { after: cursor, first: FEED_BATCH });
        const last = page.events.at(-1);
        if (last) {
          targets = await loadTargets(tx);
          queued += await enqueue(tx, page.events, targets);
          cursor = { txId: last.txId, id: last.id };
        }
        hasMore = page.hasMore;
        if (!hasMore) break;
      }
      this.#targets = targets;
      await tx.update(webhookFeedCursor).set({ txId: cursor.txId, eventId: cursor.id }).where(eq(webhookFeedCursor.name, CURSOR_NAME));
      return hasMore;
    });
    if (queued > 0) this.#kickWork();
    return more;
  }

  #kickWork(): void {
    // Closing claims nothing more, but still records the attempts that finish meanwhile.
    if (this.#closed && this.#settled.length === 0) return;
    if (this.#working) {
      this.#workAgain = true;
      return;
    }
    this.#working = (async () => {
      do {
        this.#workAgain = false;
        await this.#settleAndClaim();
      } while (this.#workAgain && (!this.#closed || this.#settled.length > 0));
    })().finally(() => {
      this.#working = undefined;
    });
  }

  async #settleAndClaim(): Promise<void> {
    const settled = this.#settled.splice(0);
    const free = this.#closed ? 0 : this.#o.concurrency - this.#inFlight.size;
    if (settled.length === 0 && free <= 0) return;
    // Longer than any attempt (each is bounded by the timeout) with room to record it; short
    // enough that a killed instance's claims are sent again soon.
    const leaseMs = 2 * this.#o.timeoutMs + 5_000;
    let claimed: ClaimedAttempt[];
    try {
      const result = await settleAndClaim(this.#o.db, this.#owner, settled, this.#o.retryScheduleMs, {
        limit: free,
        perEndpoint: this.#o.perEndpoint,
        leaseMs,
        perMerchant: this.#o.perMerchant,
      });
      for (const { delivery } of settled) this.#o.onAttempt?.(result.statuses.get(delivery.id) ?? 'lost');
      claimed = result.claimed;
    } catch (err) {
      // The leases expire and another claim sends those attempts again: at least once.
      if (settled.length > 0) this.#o.log.error({ err: errorSummary(err), deliveryIds: settled.map((s) => s.delivery.id) }, 'could not record webhook attempts');
      else this.#o.log.error({ err: errorSummary(err) }, 'webhook claim failed');
      return;
    }
    for (const attempt of claimed) {
      const running: Promise<void> = this.#attempt(attempt).finally(() => {
        this.#inFlight.delete(running);
        this.#kickWork();
      });
      this.#inFlight.add(running);
    }
    if (claimed.length === 0 && this.#inFlight.size === 0 && !this.#closed) await this.#sleepUntilDue();
  }

  /** Wakes the workers when the next attempt falls due (at most a poll period away). */
  async #sleepUntilDue(): Promise<void> {
    clearTimeout(this.#dueTimer);
    let due: Date | undefined;
    try {
      due = await nextDueAt(this.#o.db);
    } catch (err) {
      // The poll looks again within pollMs.
      this.#o.log.error({ err: errorSummary(err) }, 'could not read when the next webhook attempt is due');
      return;
    }
    if (!due || this.#closed) return;
    const wait = Math.min(Math.max(due.getTime() - Date.now(), 10), this.#o.pollMs);
    this.#dueTimer = setTimeout(() => this.#kickWork(), wait);
    this.#dueTimer.unref();
  }

  async #attempt({ delivery, endpoint, event }: ClaimedAttempt): Promise<void> {
    let outcome: AttemptOutcome;
    try {
      const secrets = this.#o.endpoints.signingSecrets(endpoint);
      const body = webhookBody(event);
      const headers = webhookHeaders(secrets, String(event.id), Math.floor(Date.now() / 1000), body);
      outcome = await this.#o.sender.send(endpoint.url, headers, body);
    } catch (err) {
      // The secret cannot be opened (a process key lost with a restart, in simulator mode): said, not shown.
      this.#o.log.error({ err: errorSummary(err), endpointId: delivery.endpointId }, 'could not sign a webhook');
      outcome = { ok: false, httpStatus: null, durationMs: 0, error: 'the endpoint secret could not be opened' };
    }
    this.#settled.push({ delivery, outcome });
  }
}

/** The enabled endpoints, as the dispatcher matches events against them. */
function loadTargets(db: Database): Promise<DispatchTarget[]> {
  return db
    .select({ id: webhookEndpoints.id, merchantId: webhookEndpoints.merchantId, events: webhookEndpoints.events, feedFrom: webhookEndpoints.feedFrom })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.enabled, true))
    .orderBy(asc(webhookEndpoints.id));
}

/** Where the feed's dispatcher stands (tests, admin views). */
export async function dispatcherCursor(db: Database): Promise<FeedPosition | undefined> {
  const [row] = await db.select().from(webhookFeedCursor).where(sql`${webhookFeedCursor.name} = ${CURSOR_NAME}`);
  return row ? { txId: row.txId, id: row.eventId } : undefined;
}
