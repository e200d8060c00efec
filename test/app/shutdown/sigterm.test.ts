/**
 * Graceful shutdown (issue 6): SIGTERM to the real gateway process in the middle of a burst of
 * notifications. UMS retries every notification not answered `SUCCESS`, so nothing is lost as long
 * as every `SUCCESS` was committed first: after the process has exited, each notification must be
 * either stored and applied to its payment, or left unanswered (refused, reset, 503), and no
 * payment may be half-written. The process must exit 0, promptly.
 *
 * Runs on PGlite (a data directory on disk, reopened after the exit) and, when TEST_DATABASE_URL
 * is set, on a fresh database of that Postgres server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../../src/db/database.js';
import { formBody, newOrderId, notificationFields, signed } from '../../payments/notification-fixtures.js';
import { TEST_DATABASE_URL, postgresDatabase, seedPgliteDataDir } from '../../support/db.js';
import { exitWithin, spawnGateway, waitUntilReady, type GatewayEnv, type GatewayProcess } from './gateway-process.js';
import { countAnswers, fireBurst, type Answer, type Notification } from './notify-burst.js';
import { effectOf, readLedger, seedOrders } from './ledger-state.js';

const NOTIFICATIONS = 400;
const CONCURRENCY = 50;
/** SIGTERM once this many answers have come back: mid-burst, with ~CONCURRENCY in flight. */
const SIGTERM_AFTER = 100;
const READY_WITHIN_MS = 30_000;
const EXIT_WITHIN_MS = 20_000;

function burstOf(count: number): Notification[] {
  return Array.from({ length: count }, () => {
    const fields = notificationFields(newOrderId());
    return { merOrderId: fields.merOrderId!, notifyId: fields.notifyId!, body: formBody(signed(fields)) };
  });
}

let running: GatewayProcess | undefined;
afterEach(async () => {
  // Only after a failure is it still running: never leave it behind.
  await running?.kill();
  running = undefined;
});

interface Run {
  answers: Answer[];
  successAfterSigterm: number;
  exitAfterSigtermMs: number;
}

/** Starts the gateway on `env`, fires the burst, SIGTERMs it mid-way and waits for the exit. */
async function burstAndSigterm(env: GatewayEnv, burst: readonly Notification[]): Promise<Run> {
  const gateway = await spawnGateway(env);
  running = gateway;
  try {
    await waitUntilReady(gateway, READY_WITHIN_MS);

    let sigtermAt = 0;
    const { answers, successAfterTrigger } = await fireBurst({
      url: gateway.url,
      notifications: burst,
      concurrency: CONCURRENCY,
      timeoutMs: 15_000,
      after: {
        answers: SIGTERM_AFTER,
        run: () => {
          sigtermAt = Date.now();
          gateway.signal('SIGTERM');
        },
      },
    });
    expect(sigtermAt, 'SIGTERM was never sent').toBeGreaterThan(0);

    const exit = await exitWithin(gateway, Math.max(0, sigtermAt + EXIT_WITHIN_MS - Date.now()));
    const exitAfterSigtermMs = Date.now() - sigtermAt;
    expect(exit, `the gateway had not exited ${EXIT_WITHIN_MS} ms after SIGTERM:\n${gateway.output()}`).toBeDefined();
    expect(exit, `the gateway's exit after SIGTERM:\n${gateway.output()}`).toEqual({ code: 0, signal: null });
    return { answers, successAfterSigterm: successAfterTrigger, exitAfterSigtermMs };
  } finally {
    // After a failure it may still run: kill it before the caller removes its data directory or
    // drops its database.
    await gateway.kill();
    running = undefined;
  }
}

/** The assertions of this file, on the database the gateway used. */
async function expectNothingLost(db: Database, burst: readonly Notification[], run: Run, driver: string): Promise<void> {
  const { answers } = run;
  const counts = countAnswers(answers);
  const ledger = await readLedger(db);
  const effects = burst.map((n) => effectOf(ledger.byOrder.get(n.merOrderId), n.notifyId));

  const storedAnyway = burst.filter((_, i) => answers[i]!.kind !== 'SUCCESS' && effects[i] === 'applied').length;
  const drainJson = answers.filter((a) => a.kind === 'FAILED' && a.text !== 'FAILED').length;
  const errors = [...new Set(answers.flatMap((a) => (a.kind === 'no-answer' ? [a.error] : [])))];
  console.info(
    `[${driver}] ${burst.length} notifications: ${counts.SUCCESS} SUCCESS (${run.successAfterSigterm} after SIGTERM), ${counts.FAILED} 503 (${drainJson} of them Fastify's drain JSON), ` +
      `${counts['no-answer']} unanswered (${errors.join(', ') || 'none'}), ${counts.unexpected} unexpected; ` +
      `${storedAnyway} not answered SUCCESS but stored (UMS's retry will be a duplicate); exit ${run.exitAfterSigtermMs} ms after SIGTERM`,
  );

  // A valid, signed notification never gets anything but SUCCESS, 503 or silence.
  expect(answers.filter((a) => a.kind === 'unexpected')).toEqual([]);
  // CONTRACT.md: every answer that is not SUCCESS is the plain body FAILED, during a drain too.
  expect(drainJson).toBe(0);
  // The SIGTERM really landed mid-burst: some were answered SUCCESS, some were not.
  expect(counts.SUCCESS).toBeGreaterThanOrEqual(SIGTERM_AFTER / 2);
  expect(counts.SUCCESS, 'every notification was answered SUCCESS: the SIGTERM missed the burst').toBeLessThan(burst.length);

  // Every SUCCESS is stored and applied to its payment, completely.
  const lost = burst.filter((_, i) => answers[i]!.kind === 'SUCCESS' && effects[i] !== 'applied');
  expect(lost.map((n) => ({ merOrderId: n.merOrderId, state: ledger.byOrder.get(n.merOrderId) })), `${lost.length} answered SUCCESS but not stored`).toEqual([]);
  // Everything else was either applied completely or not at all (UMS retries it).
  const partial = burst.filter((_, i) => effects[i] === 'inconsistent');
  expect(partial.map((n) => ({ merOrderId: n.merOrderId, state: ledger.byOrder.get(n.merOrderId) })), `${partial.length} half-written`).toEqual([]);
  // And no payment anywhere lacks an event of its history.
  expect(ledger.halfWritten).toEqual([]);
}

describe('SIGTERM during a burst of notifications leaves every one either stored or unanswered', () => {
  it('PGlite (data directory on disk)', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ums-shutdown-'));
    const pgliteDataDir = join(dir, 'pgdata');
    seedPgliteDataDir(pgliteDataDir);
    try {
      const burst = burstOf(NOTIFICATIONS);
      // PGlite is single-process: seed, close, let the gateway open it, reopen after its exit.
      const before = await openDatabase({ pgliteDataDir });
      try {
        await seedOrders(before.db, burst.map((n) => n.merOrderId));
      } finally {
        await before.close();
      }

      const run = await burstAndSigterm({ pgliteDataDir }, burst);

      const after = await openDatabase({ pgliteDataDir });
      try {
        await expectNothingLost(after.db, burst, run, 'pglite');
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!TEST_DATABASE_URL)('Postgres (a fresh database on TEST_DATABASE_URL; skipped without it)', { timeout: 90_000 }, async () => {
    const h = await postgresDatabase();
    try {
      const burst = burstOf(NOTIFICATIONS);
      await seedOrders(h.db, burst.map((n) => n.merOrderId));
      const run = await burstAndSigterm({ databaseUrl: h.url! }, burst);
      await expectNothingLost(h.db, burst, run, 'postgres');
    } finally {
      await h.close();
    }
  });
});
