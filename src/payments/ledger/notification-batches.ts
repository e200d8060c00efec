/**
 * Group commit for verified notifications (bench/README.md, "notify"). Under load, notifications
 * that arrive while earlier ones are being written wait for the next batch, and a batch is two
 * statements: read every payment it names (one prepared statement), plan each plain forward move
 * from its row (apply.ts planForwardMove), write them all with their notification rows (one
 * statement, forward-moves.ts, which is the batch's transaction: it locks, checks each payment's
 * version against the plan, writes and commits). Two round trips and one commit for the whole
 * batch, instead of four and one per notification, and no connection held idle in a transaction
 * while Node plans.
 *
 * Nothing is answered before its batch has committed. What a batch cannot write plainly (an order
 * we do not know, a duplicate, a refund, a mismatch, a second notification for the same order in
 * the batch, a payment that moved between the read and the write) is handed back after the
 * commit, and the caller applies it on its own through the ledger, which then sees the batch's
 * committed state. If the write fails as a whole (a redelivery raced one of its notifications, the
 * database is down), every notification in it is handed back, nothing of the batch is stored, and
 * the ledger's own path decides each one. Two cases answer 503 at once instead: a database that
 * could not be reached (and what queued behind it), and a batch past its deadline (a connection
 * that died silently must not hold every notification).
 *
 * A payment locked by another transaction is skipped and handed back, so one long-held lock
 * delays its own order only. With no load, a notification is a batch of one, written on the next
 * turn of the event loop.
 *
 * One batcher per database handle, built by the composition root (src/app.ts) and handed to
 * whoever submits notifications; a test builds its own.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/database.js';
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

/** At most this many notifications in one batch (a bound on lock time and statement size). */
const DEFAULT_MAX_BATCH_SIZE = 64;
/**
 * Batches written at once. With one, Node and Postgres take turns: while a batch is written every
 * caller of it waits, so Node idles, and while Node reads and answers, Postgres idles. With two,
 * what is queued is shared out between them (#schedule), they finish at different times, and Node
 * works on one batch's requests while Postgres writes the other. A batch is two statements and no
 * open transaction, so a second one costs a round trip and a commit, not a held connection.
 * Measured (2026-12-07, load average 8 to 16 on 2 cores: noisy) with recordNotification driven
 * directly (no HTTP, 50 in flight, alternating with the baseline's store): 1 / 2 / 3 / 4 in flight stored 0.65 / 0.74 / 0.85 / 0.73 of the
 * baseline in one run, 0.71 / 0.96 / 0.79 in another; `BENCH_ONLY=notify`: 0.49 / 0.47 to 0.63 /
 * 0.36. Locks on payments are only ever held by short transactions (never across a UMS call),
 * and a batch skips the ones it finds held.
 */
const DEFAULT_MAX_BATCHES_IN_FLIGHT = 2;

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

export interface NotificationBatcherOptions {
  /** How long a batch may take before its notifications are answered 503 (default 10 s). */
  deadlineMs?: number;
  /** Notifications per batch at most (default 64). */
  maxBatchSize?: number;
  /** Batches written at once (default 1). */
  maxBatchesInFlight?: number;
}

export class NotificationBatcher {
  readonly #db: Database;
  readonly #readPayments: ReturnType<typeof buildReadPayments>;
  readonly deadlineMs: number;
  readonly #maxBatchSize: number;
  readonly #maxInFlight: number;
  #queue: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(db: Database, options: NotificationBatcherOptions = {}) {
    this.#db = db;
    this.#readPayments = buildReadPayments(db);
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.#maxBatchSize = Math.max(1, options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE);
    this.#maxInFlight = Math.max(1, options.maxBatchesInFlight ?? DEFAULT_MAX_BATCHES_IN_FLIGHT);
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
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      // What is queued is shared out over the free slots: batches of about the same size, which
      // then finish at different times, so that Node reads and answers one batch's requests
      // while Postgres writes another's.
      while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
        const share = Math.ceil(this.#queue.length / (this.#maxInFlight - this.#inFlight));
        void this.#run(this.#queue.splice(0, Math.min(this.#maxBatchSize, share)));
      }
    });
  }

  async #run(batch: Pending[]): Promise<void> {
    this.#inFlight += 1;
    let answered = false;
    /** Answers the batch once: when its write ends or at its deadline, whichever is first. */
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
      const planned = planBatch(await this.#readPayments.execute({ ids: JSON.stringify([...byOrder.keys()]) }), byOrder);
      if (planned.length > 0) {
        const written = await writeForwardMoves(
          this.#db,
          planned.map(({ pending, move }) => ({ move, notification: pending.item.notification })),
        );
        for (const { pending, move } of planned) {
          const w = written.get(move.payment.merOrderId);
          // Not written (held by another transaction, or moved since the read): handed back.
          if (w === undefined || w.version !== move.payment.version) continue;
          verdicts.set(pending, { kind: 'stored', reason: move.reason, notificationId: w.notificationId, version: w.version });
        }
      }
      answer((pending) => verdicts.get(pending) ?? HANDED_BACK);
    } catch (error) {
      // Nothing was written. A statement the server refused may be about one notification only:
      // the ledger's own path decides each one (and reports a real failure). An unreachable
      // database is unreachable for all of them, and for what queued meanwhile, which would
      // otherwise wait out the connect timeout again, batch after batch.
      const unavailable: BatchVerdict | undefined = isConnectionFailure(error) ? { kind: 'unavailable', error } : undefined;
      answer(() => unavailable ?? HANDED_BACK, unavailable);
    }
  }
}

/**
 * Reads the batch's payments, unlocked: the write checks each one's version against the row read
 * here, and locks. The ids travel as one JSON parameter, so the statement's text is the same for
 * any batch size; it is built once per batcher (a Drizzle query built per call costs more CPU
 * than the batch's planning) and prepared once per connection.
 */
function buildReadPayments(db: Database) {
  return db
    .select()
    .from(payments)
    .where(sql`${payments.merOrderId} = any(array(select jsonb_array_elements_text(${sql.placeholder('ids')}::jsonb)))`)
    .prepare('notify_batch_read');
}

function planBatch(rows: PaymentRow[], byOrder: Map<string, Pending>): { pending: Pending; move: ForwardMove }[] {
  const now = new Date();
  const planned: { pending: Pending; move: ForwardMove }[] = [];
  for (const row of rows) {
    const pending = byOrder.get(row.merOrderId);
    if (!pending) continue;
    const move = planForwardMove(row, pending.item.report, 'NOTIFY', pending.item.payload, now);
    if (move) planned.push({ pending, move });
  }
  return planned;
}
