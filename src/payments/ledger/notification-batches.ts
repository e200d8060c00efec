/**
 * Group commit for verified notifications (bench/README.md, "notify"). Under load, notifications
 * that arrive while earlier ones are being written wait for the next batch, and a batch is one
 * transaction: lock every payment it names (one statement), plan each plain forward move from its
 * locked row (apply.ts planForwardMove), write them all with their notification rows (one
 * statement, forward-moves.ts), commit. Four round trips and one commit for the whole batch,
 * instead of four and one per notification.
 *
 * Nothing is answered before its batch has committed. What a batch cannot write plainly (an order
 * we do not know, a duplicate, a refund, a mismatch, a second notification for the same order in
 * the batch) is handed back after the commit, and the caller applies it on its own through the
 * ledger, which then sees the batch's committed state. If the batch fails as a whole (a redelivery
 * raced one of its notifications, the database is down), every notification in it is handed back,
 * nothing of the batch is stored, and the ledger's own path decides each one. Two cases answer
 * 503 at once instead: a database that could not be reached (and what queued behind it), and a
 * batch past its deadline (a connection that died silently must not hold every notification).
 *
 * A payment locked by another transaction is skipped and handed back, so one long-held lock
 * delays its own order only. With no load, a notification is a batch of one, written on the next
 * turn of the event loop.
 *
 * One batcher per database handle, built by the composition root (src/app.ts) and handed to
 * whoever submits notifications; a test builds its own.
 */
import { asc, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/database.js';
import { isConnectionFailure } from '../../db/connection-failure.js';
import { payments, type PaymentRow } from '../../db/schema.js';
import { planForwardMove } from './apply.js';
import { writeForwardMoves, type NotificationToStore } from './forward-moves.js';
import type { ForwardMove, StatusReport } from './types.js';

/** A verified notification, ready to be stored. */
export interface VerifiedNotification {
  report: StatusReport;
  /** The event's payload: the signed fields without `sign`. */
  payload: Readonly<Record<string, string>>;
  notification: NotificationToStore;
}

export type BatchVerdict =
  /** Committed with its payment's forward move. */
  | { kind: 'stored'; reason: string; notificationId: number; version: number }
  /** Not written by the batch: the ledger's own path must decide it (the batch has committed or rolled back). */
  | { kind: 'handed-back' }
  /**
   * The database could not be reached, or the batch outlived its deadline: answer 503 (UMS
   * retries; a retry of what did commit is recognised as a duplicate). A second attempt at once,
   * alone, would only wait as long again.
   */
  | { kind: 'unavailable'; error: unknown };

const HANDED_BACK: BatchVerdict = { kind: 'handed-back' };

/** At most this many notifications in one transaction (a bound on lock time and statement size). */
const MAX_BATCH_SIZE = 64;
/**
 * Batches written at once. One: a batch takes everything that arrived while the previous one was
 * being written, so under load batches grow instead of multiplying, and the per-batch cost (four
 * round trips, statements built, a commit) is paid by more notifications. Measured with
 * `BENCH_ONLY=notify npm run bench` (bench/README.md): 1 in flight stored 0.47 to 0.58 of the
 * baseline, 2 stored 0.45 to 0.51, 4 stored 0.39. Locks on payments are only ever held by short
 * transactions (never across a UMS call), so one batch does not wait long behind anything.
 */
const MAX_BATCHES_IN_FLIGHT = 1;

/**
 * How long a batch may take before its notifications are answered 503 and the next batch starts
 * on another connection. A connection that dies without a reset (a network partition) would
 * otherwise hold the one batch, and everything queued behind it, until TCP keepalive notices,
 * minutes later. A healthy batch takes milliseconds.
 */
const DEFAULT_DEADLINE_MS = 10_000;

interface Pending {
  item: VerifiedNotification;
  resolve: (verdict: BatchVerdict) => void;
}

/** Thrown inside a batch's transaction to roll it back and hand every notification back. */
class BatchRace extends Error {}

export interface NotificationBatcherOptions {
  /** How long a batch may take before its notifications are answered 503 (default 10 s). */
  deadlineMs?: number;
}

export class NotificationBatcher {
  readonly #db: Database;
  readonly deadlineMs: number;
  #queue: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(db: Database, options: NotificationBatcherOptions = {}) {
    this.#db = db;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  }

  /**
   * Stores a verified notification with its payment's forward move in the next batch, or hands
   * it back once that batch has committed or failed.
   */
  submit(item: VerifiedNotification): Promise<BatchVerdict> {
    return new Promise((resolve) => {
      this.#queue.push({ item, resolve });
      this.#schedule();
    });
  }

  /** On the next turn of the event loop, so that what arrived in this one shares the batch. */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= MAX_BATCHES_IN_FLIGHT || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#inFlight < MAX_BATCHES_IN_FLIGHT && this.#queue.length > 0) {
        void this.#run(this.#queue.splice(0, MAX_BATCH_SIZE));
      }
    });
  }

  async #run(batch: Pending[]): Promise<void> {
    this.#inFlight += 1;
    let answered = false;
    /** Answers the batch once: when its transaction ends or at its deadline, whichever is first. */
    const answer = (verdictOf: (pending: Pending) => BatchVerdict, queuedToo?: BatchVerdict): void => {
      if (answered) return;
      answered = true;
      clearTimeout(deadline);
      this.#inFlight -= 1;
      for (const pending of batch) pending.resolve(verdictOf(pending));
      if (queuedToo) for (const pending of this.#queue.splice(0)) pending.resolve(queuedToo);
      this.#schedule();
    };
    const deadline = setTimeout(() => {
      const late: BatchVerdict = { kind: 'unavailable', error: new Error(`a notification batch took longer than ${this.deadlineMs} ms`) };
      answer(() => late);
    }, this.deadlineMs);

    const verdicts = new Map<Pending, BatchVerdict>();
    try {
      // One notification per payment: a second one for the same order waits for this commit.
      const byOrder = new Map<string, Pending>();
      for (const pending of batch) {
        const id = pending.item.report.merOrderId;
        if (!byOrder.has(id)) byOrder.set(id, pending);
      }
      await this.#db.transaction(async (tx) => {
        const planned = planBatch(await lockPayments(tx, [...byOrder.keys()]), byOrder);
        if (planned.length === 0) return;
        const written = await writeForwardMoves(
          tx,
          planned.map(({ pending, move }) => ({ move, notification: pending.item.notification })),
        );
        for (const { pending, move } of planned) {
          const w = written.get(move.payment.merOrderId);
          // Not updated (cannot happen under the lock) or the dedupe key taken by a redelivery
          // that committed first: this batch must not store anything.
          if (w === undefined || w.version !== move.payment.version || w.notificationId === undefined) throw new BatchRace();
          verdicts.set(pending, { kind: 'stored', reason: move.reason, notificationId: w.notificationId, version: w.version });
        }
      });
      answer((pending) => verdicts.get(pending) ?? HANDED_BACK);
    } catch (error) {
      // Rolled back. A statement the server refused may be about one notification only: the
      // ledger's own path decides each one (and reports a real failure). An unreachable database
      // is unreachable for all of them, and for what queued meanwhile, which would otherwise wait
      // out the connect timeout again, batch after batch.
      const unavailable: BatchVerdict | undefined = isConnectionFailure(error) ? { kind: 'unavailable', error } : undefined;
      answer(() => unavailable ?? HANDED_BACK, unavailable);
    }
  }
}

/**
 * Locks the batch's payments, in merOrderId order. A payment another transaction holds is
 * skipped, not waited for: its notification is handed back and waits alone, so a lock held long
 * (a client that died mid-transaction holds it until the server notices) delays that order only,
 * never the batch and everything queued behind it. The ids travel as one JSON parameter, so the
 * statement's text is the same for any batch size and stays prepared (one round trip, planned
 * once per connection).
 */
function lockPayments(tx: Transaction, merOrderIds: string[]): Promise<PaymentRow[]> {
  return tx
    .select()
    .from(payments)
    .where(sql`${payments.merOrderId} = any(array(select jsonb_array_elements_text(${JSON.stringify(merOrderIds)}::jsonb)))`)
    .orderBy(asc(payments.merOrderId))
    .for('update', { skipLocked: true })
    .prepare('notify_batch_lock')
    .execute();
}

function planBatch(locked: PaymentRow[], byOrder: Map<string, Pending>): { pending: Pending; move: ForwardMove }[] {
  const now = new Date();
  const planned: { pending: Pending; move: ForwardMove }[] = [];
  for (const row of locked) {
    const pending = byOrder.get(row.merOrderId);
    if (!pending) continue;
    const move = planForwardMove(row, pending.item.report, 'NOTIFY', pending.item.payload, now);
    if (move) planned.push({ pending, move });
  }
  return planned;
}
