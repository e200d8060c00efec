/**
 * Raw notification retention: after RAW_NOTIFICATION_RETENTION_DAYS a stored body keeps only the
 * fields the ledger reads (ids, statuses, amounts, times), so buyer identifiers (`buyerId`,
 * `bankCardNo`, …) and whatever a rejected body carried do not stay for ever. The row, its outcome
 * and its counts stay for audit.
 */
import { and, asc, isNull, lt, sql } from 'drizzle-orm';
import type { Database } from '../../db/database.js';
import { notifications } from '../../db/schema.js';
import { errorSummary } from '../../lib/errors.js';
import type { Logger } from '../../log.js';

/**
 * The body fields the ledger reads from a notification (order and refund notices; of a bills
 * notice its billNo and billStatus: the payment details inside billPayment, which also name the
 * buyer, stay only in the event's payload, masked).
 */
export const LEDGER_FIELDS: readonly string[] = [
  'notifyId',
  'merOrderId',
  'billNo',
  'status',
  'billStatus',
  'mid',
  'tid',
  'instMid',
  'totalAmount',
  'buyerPayAmount',
  'receiptAmount',
  'targetOrderId',
  'targetSys',
  'seqId',
  'payTime',
  'settleDate',
  'refundOrderId',
  'refundTargetOrderId',
  'refundAmount',
  'refundStatus',
];

const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows stripped per statement: a bounded transaction, however far behind the job is. */
const BATCH = 500;

/**
 * The body with only LEDGER_FIELDS, in its own format (form or JSON); empty when it cannot be
 * read (a rejected body, say).
 */
export function strippedBody(contentType: string | null, rawBody: string): string {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      const value: unknown = JSON.parse(rawBody);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return '';
      const kept = Object.entries(value).filter(([name]) => LEDGER_FIELDS.includes(name));
      return kept.length === 0 ? '' : JSON.stringify(Object.fromEntries(kept));
    } catch {
      return '';
    }
  }
  const kept = new URLSearchParams();
  for (const [name, value] of new URLSearchParams(rawBody)) if (LEDGER_FIELDS.includes(name) && !kept.has(name)) kept.append(name, value);
  return kept.toString();
}

/** Strips every body received before `cutoff` not stripped yet; answers how many rows it changed. */
export async function stripNotificationsBefore(db: Database, cutoff: Date, now = new Date()): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await db
      .select({ id: notifications.id, contentType: notifications.contentType, rawBody: notifications.rawBody })
      .from(notifications)
      .where(and(isNull(notifications.strippedAt), lt(notifications.receivedAt, cutoff)))
      .orderBy(asc(notifications.receivedAt))
      .limit(BATCH);
    if (rows.length === 0) return total;
    const stripped = rows.map((r) => ({ id: r.id, raw_body: strippedBody(r.contentType, r.rawBody) }));
    await db.execute(sql`
      update notifications set raw_body = s.raw_body, stripped_at = ${now.toISOString()}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(stripped)}::jsonb) as s(id bigint, raw_body text)
      where notifications.id = s.id`);
    total += rows.length;
    if (rows.length < BATCH) return total;
  }
}

export interface NotificationRetentionOptions {
  db: Database;
  retentionDays: number;
  /** How often to look for bodies past retention; default one hour. */
  intervalMs?: number;
  log?: Logger;
  now?: () => Date;
}

/** Runs stripNotificationsBefore(now − retentionDays) at start and then every intervalMs. */
export class NotificationRetention {
  readonly #options: NotificationRetentionOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #stopped = false;

  constructor(options: NotificationRetentionOptions) {
    this.#options = options;
  }

  start(): void {
    const run = () => void this.runOnce().catch(() => 0);
    run();
    this.#timer = setInterval(run, this.#options.intervalMs ?? 60 * 60 * 1000);
    this.#timer.unref();
  }

  /** One pass (never two at once); answers how many bodies it stripped. Errors are logged, not thrown. */
  runOnce(): Promise<number> {
    if (this.#stopped) return Promise.resolve(0);
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  async #pass(): Promise<number> {
    const now = this.#options.now?.() ?? new Date();
    const cutoff = new Date(now.getTime() - this.#options.retentionDays * DAY_MS);
    try {
      const stripped = await stripNotificationsBefore(this.#options.db, cutoff, now);
      if (stripped > 0) this.#options.log?.info({ stripped, cutoff }, 'notification bodies past retention stripped to the ledger fields');
      return stripped;
    } catch (err) {
      this.#options.log?.warn({ err: errorSummary(err) }, 'notification retention pass failed; the next one retries');
      return 0;
    }
  }
}
