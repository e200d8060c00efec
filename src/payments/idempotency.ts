/**
 * `Idempotency-Key` for the mutations that move money (createPayment, refundPayment).
 *
 * - The same key with the same input answers the first answer, stored in idempotency_keys.
 * - The same key with another input is refused (IDEMPOTENCY_KEY_REUSED).
 * - Two requests racing on one key never both reach UMS: each first tries to INSERT the key (the
 *   primary key (key, operation) lets exactly one win); the loser waits for the winner's answer,
 *   woken when the winner announces it (idempotency-answers.ts), not by re-reading on a timer.
 * - Keys older than 24 h are ignored and purged.
 *
 * What is stored: the result, or the PaymentError of a request that got as far as UMS
 * (UMS_REJECTED, UMS_UNAVAILABLE), so a retry with the same key never creates a second order
 * with a new id. A request refused before anything was stored (bad input, not found, conflict)
 * releases its key: nothing happened under it, so a retry may run.
 *
 * A request that failed unexpectedly (the database, say, after UMS had accepted the order or the
 * refund) may have moved money, so its key is NOT released: it is marked for a retry, stays bound
 * to its input, and the next request with that key and input runs again as a resumption
 * (`Attempt.resumed`). So does a take-over of a claim whose request died. The ids sent to UMS
 * come from `Attempt.seed`, the same on every run under one key and input (idempotentOrderId),
 * so a resumption asks UMS about the SAME merOrderId / refundOrderId, never a new one.
 *
 * Keys are scoped per merchant (CONTRACT.md "API keys and client secrets"): the stored key of a
 * merchant other than `default` is `<merchantId> <key>`. A key is printable ASCII with no space,
 * so no scoped key equals an unscoped one; the seed (and so the derived ids) differ per merchant,
 * so two merchants sending the same key and input never meet. `default`'s keys are stored as
 * they always were.
 */
import { createHash } from 'node:crypto';
import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { idempotencyKeys } from '../db/schema.js';
import { PaymentError, type PaymentErrorCode, type PaymentErrorDetails } from './errors.js';
import { AnswerSignals, answerToken, type AnswerListenSource } from './idempotency-answers.js';
import { DEFAULT_MERCHANT_ID } from '../merchants/ids.js';

/**
 * `reviewRefund`: resolveReview's own refunds, under keys it derives from the case. A namespace of
 * their own, so no caller's Idempotency-Key on refundPayment can take one first.
 */
export type IdempotentOperation = 'createPayment' | 'refundPayment' | 'reviewRefund';

/** Whose key this is: the merchant the request acts for (undefined or `default`: unscoped). */
export interface KeyScope {
  scope?: string | undefined;
}

/** The key as stored: `<merchantId> <key>` for a merchant other than `default`. */
export function scopedKey(key: string, scope: string | undefined): string {
  return scope === undefined || scope === DEFAULT_MERCHANT_ID ? key : `${scope} ${key}`;
}

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyOptions {
  /** How long stored answers count. Default 24 h. */
  ttlMs?: number;
  /**
   * A claim still without an answer after this long belongs to a request that died (crash,
   * restart); a retry then takes it over. Default 2 min, longer than any UMS call may take.
   */
  abandonAfterMs?: number;
  /** How long a racing request waits for the winner's answer. Default 30 s. */
  waitMs?: number;
  /**
   * LISTEN source (the DatabaseHandle): a request waiting on a key that another gateway instance
   * holds is woken when that instance answers. Without it only holders in this process wake it.
   */
  listen?: AnswerListenSource;
  now?: () => Date;
}

/** Errors that mean "nothing happened": the key is released instead of storing them. */
const RELEASING_CODES: ReadonlySet<PaymentErrorCode> = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT']);

/** Longest Idempotency-Key accepted (Stripe's limit). */
export const MAX_KEY_LENGTH = 255;

type Stored =
  | { result: unknown }
  | { error: { code: PaymentErrorCode; message: string; details: PaymentErrorDetails } }
  /** Not an answer: the last attempt failed unexpectedly; the next one resumes its work. */
  | { retry: { at: string; error: string } };

/** What the work learns about the run it is part of. */
export interface Attempt {
  /**
   * sha256 (hex) of the operation, the key and the input: the same on every run under one key,
   * retries and take-overs included. Undefined without a key. Ids sent to UMS derive from it.
   */
  readonly seed: string | undefined;
  /** An earlier run under this key started and gave no answer (failed unexpectedly or died). */
  readonly resumed: boolean;
}

const NO_KEY: Attempt = { seed: undefined, resumed: false };

export class Idempotency {
  readonly #db: Database;
  readonly #ttlMs: number;
  readonly #abandonAfterMs: number;
  readonly #waitMs: number;
  readonly #now: () => Date;
  readonly #signals: AnswerSignals;

  constructor(db: Database, options: IdempotencyOptions = {}) {
    this.#db = db;
    this.#signals = new AnswerSignals(db, options.listen);
    this.#ttlMs = options.ttlMs ?? IDEMPOTENCY_TTL_MS;
    this.#abandonAfterMs = options.abandonAfterMs ?? 120_000;
    this.#waitMs = options.waitMs ?? 30_000;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Runs `work` at most once per (key, operation) and input; without a key, simply runs it.
   * `request` is the input that the key is bound to (compared by a hash of its canonical JSON).
   */
  async run<T>(
    operation: IdempotentOperation,
    givenKey: string | undefined,
    request: unknown,
    work: (attempt: Attempt) => Promise<T>,
    { scope }: KeyScope = {},
  ): Promise<T> {
    if (givenKey === undefined) return work(NO_KEY);
    if (givenKey.trim() === '' || givenKey.length > MAX_KEY_LENGTH) {
      throw new PaymentError('BAD_USER_INPUT', `Idempotency-Key must be 1..${MAX_KEY_LENGTH} characters`, { field: 'idempotencyKey' });
    }
    const key = scopedKey(givenKey, scope);
    const requestHash = hashRequest(operation, request);
    const seed = attemptSeed(operation, key, requestHash);
    const token = answerToken(operation, key);
    const deadline = Date.now() + this.#waitMs;

    for (;;) {
      const claimed = await this.#claim(key, operation, requestHash);
      if (claimed) return this.#runClaimed(key, operation, token, { seed, resumed: false }, work);

      // Listen before reading, so an answer stored between the read and the wait still wakes us.
      const waiter = await this.#signals.prepare(token);
      try {
        const row = await this.#read(key, operation);
        if (!row) continue; // released or purged between our insert and read: claim again
        if (row.requestHash !== requestHash) {
          throw new PaymentError(
            'IDEMPOTENCY_KEY_REUSED',
            'this Idempotency-Key was already used with a different input; use a new key for a new request',
          );
        }
        const stored = row.response === null || row.response === undefined ? undefined : (row.response as Stored);
        if (stored && !('retry' in stored)) return replay<T>(stored);

        // The last attempt failed unexpectedly (retry marker), or the first request is still running
        // or died: resume the former at once, wait for the latter's answer or take it over. The key
        // stays claimed throughout, so its input and its ids never change.
        const age = this.#now().getTime() - row.createdAt.getTime();
        if (stored || age > this.#abandonAfterMs) {
          if (await this.#takeOver(key, operation, row.createdAt, stored !== undefined)) {
            return this.#runClaimed(key, operation, token, { seed, resumed: true }, work);
          }
          continue;
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new PaymentError('CONFLICT', 'a request with this Idempotency-Key is still in progress; retry later');
        }
        await waiter.wait(left);
      } finally {
        waiter.cancel();
      }
    }
  }

  /** Stops listening for other instances' answers. */
  close(): Promise<void> {
    return this.#signals.close();
  }

  /** Deletes keys older than the TTL; the sync scheduler calls it once per round. */
  async purgeExpired(): Promise<number> {
    const cutoff = new Date(this.#now().getTime() - this.#ttlMs);
    const rows = await this.#db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, cutoff)).returning({ key: idempotencyKeys.key });
    return rows.length;
  }

  async #claim(key: string, operation: IdempotentOperation, requestHash: string): Promise<boolean> {
    // An expired key is ignored: drop it first so the insert below can claim it afresh.
    const cutoff = new Date(this.#now().getTime() - this.#ttlMs);
    await this.#db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.key, key), eq(idempotencyKeys.operation, operation), lt(idempotencyKeys.createdAt, cutoff)));
    const inserted = await this.#db
      .insert(idempotencyKeys)
      .values({ key, operation, requestHash, response: null, createdAt: this.#now() })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    return inserted.length === 1;
  }

  /**
   * Claims a key whose last attempt gave no answer: only that very state (same created_at, still
   * marked or unanswered), so of two requests taking over at once exactly one wins.
   */
  async #takeOver(key: string, operation: IdempotentOperation, createdAt: Date, marked: boolean): Promise<boolean> {
    const rows = await this.#db
      .update(idempotencyKeys)
      .set({ response: null, createdAt: this.#now() })
      .where(
        and(
          eq(idempotencyKeys.key, key),
          eq(idempotencyKeys.operation, operation),
          eq(idempotencyKeys.createdAt, createdAt),
          marked ? sql`${idempotencyKeys.response} ? 'retry'` : isNull(idempotencyKeys.response),
        ),
      )
      .returning({ key: idempotencyKeys.key });
    return rows.length === 1;
  }

  async #read(key: string, operation: IdempotentOperation) {
    const rows = await this.#db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.key, key), eq(idempotencyKeys.operation, operation)))
      .limit(1);
    return rows[0];
  }

  async #runClaimed<T>(
    key: string,
    operation: IdempotentOperation,
    token: string,
    attempt: Attempt,
    work: (attempt: Attempt) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.#runAndStore(key, operation, attempt, work);
    } finally {
      // Whatever was stored (an answer, an error, a retry marker, or the key released), waiting
      // requests read it now.
      await this.#signals.announce(token);
    }
  }

  async #runAndStore<T>(key: string, operation: IdempotentOperation, attempt: Attempt, work: (attempt: Attempt) => Promise<T>): Promise<T> {
    const where = and(eq(idempotencyKeys.key, key), eq(idempotencyKeys.operation, operation));
    let result: T;
    try {
      result = await work(attempt);
    } catch (err) {
      if (err instanceof PaymentError && RELEASING_CODES.has(err.code)) {
        await this.#db.delete(idempotencyKeys).where(where);
      } else if (err instanceof PaymentError) {
        const stored: Stored = { error: { code: err.code, message: err.message, details: err.details } };
        await this.#db.update(idempotencyKeys).set({ response: encode(stored) }).where(where);
      } else {
        // Unexpected (the database, a bug): UMS may have acted. Keep the key bound to this input
        // and let the next request resume the same ids. If even this write fails, the claim stays
        // unanswered and is taken over after abandonAfterMs, which resumes the same way.
        const stored: Stored = { retry: { at: this.#now().toISOString(), error: err instanceof Error ? err.name : 'Error' } };
        await this.#db
          .update(idempotencyKeys)
          .set({ response: encode(stored) })
          .where(where)
          .catch(() => undefined);
      }
      throw err;
    }
    await this.#db.update(idempotencyKeys).set({ response: encode({ result }) }).where(where);
    return result;
  }
}

/** The seed of every run under one (operation, key, input). */
function attemptSeed(operation: string, key: string, requestHash: string): string {
  return createHash('sha256').update(`${operation}\n${key}\n${requestHash}`, 'utf8').digest('hex');
}

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * The merOrderId / refundOrderId of an idempotent request: the source number, then 23 letters
 * and digits from the attempt's seed (27 characters, like generated ids). The same seed always
 * gives the same id, so a retry or a take-over asks UMS about the order it may already have.
 */
export function idempotentOrderId(sourceId: string, seed: string): string {
  let n = BigInt(`0x${seed}`);
  let suffix = '';
  for (let i = 0; i < 23; i++) {
    suffix += ID_ALPHABET[Number(n % 62n)];
    n /= 62n;
  }
  return sourceId + suffix;
}

/** sha256 of the operation and the canonical JSON of the input (sorted keys, no undefined). */
export function hashRequest(operation: string, request: unknown): string {
  return createHash('sha256').update(`${operation}\n${canonicalJson(request)}`, 'utf8').digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// Answers hold Dates (PaymentRow timestamps); jsonb would turn them into strings, so they are
// tagged on the way in and revived on the way out.
const DATE_TAG = '$date';

function encode(value: Stored): unknown {
  return JSON.parse(
    JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
      const raw = this[key];
      return raw instanceof Date ? { [DATE_TAG]: raw.toISOString() } : v;
    }),
  );
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === DATE_TAG && typeof obj[DATE_TAG] === 'string') return new Date(obj[DATE_TAG]);
    return Object.fromEntries(keys.map((k) => [k, decode(obj[k])]));
  }
  return value;
}

function replay<T>(stored: Exclude<Stored, { retry: unknown }>): T {
  if ('error' in stored) {
    throw new PaymentError(stored.error.code, stored.error.message, stored.error.details);
  }
  return decode(stored.result) as T;
}
