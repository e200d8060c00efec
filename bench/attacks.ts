/**
 * `npm run bench:attacks`: the single requests that used to stop the gateway, timed against a real
 * gateway process (live mode, NODE_ENV=production, against the standalone simulator), black-box
 * over HTTP. Prints one line per attack: how long the answer took, and the slowest `/healthz`
 * answer while it ran (the event loop's stall). With DATABASE_URL or TEST_DATABASE_URL set, also
 * the database growth for rejected and replayed notifications. ATTACK_ONLY=notify,graphql,storage
 * picks some; ATTACK_STORAGE_COUNT (default 1000) sets how many of each are sent.
 *
 * Not a test: it reports figures (bench/README.md). The tests that hold the limits are in test/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { DEMO } from '../src/config.js';
import { FORM, paidNotification } from './notifications.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ADMIN_KEY = `sk_attacks_${randomBytes(8).toString('hex')}`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function start(script: string, env: NodeJS.ProcessEnv): ChildProcess {
  // The gateway's stderr is dropped: an out-of-memory crash prints pages of stack.
  const child = spawn(process.execPath, [join(ROOT, 'dist', script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  return child;
}

async function waitFor(url: string, deadlineMs = 60_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `request` while polling /healthz; the request's time and the slowest health answer. */
async function timed(base: string, request: () => Promise<Response>): Promise<{ status: number; ms: number; healthMaxMs: number }> {
  let done = false;
  let healthMaxMs = 0;
  const poll = (async () => {
    while (!done) {
      const t = performance.now();
      await fetch(`${base}/healthz`).catch(() => undefined);
      healthMaxMs = Math.max(healthMaxMs, performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const t = performance.now();
  const res = await request();
  await res.arrayBuffer();
  const ms = performance.now() - t;
  done = true;
  await poll;
  return { status: res.status, ms, healthMaxMs };
}

function postGraphQL(base: string, query: string, withKey = true): Promise<Response> {
  return fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(withKey ? { authorization: `Bearer ${ADMIN_KEY}` } : {}) },
    body: JSON.stringify({ query }),
  });
}

/** A forged notification of `n` fields shaped `f1=%2B+&…`, with a sign that cannot verify. */
function manyFields(n: number): string {
  const parts = [`mid=${DEMO.mid}`, `tid=${DEMO.tid}`, 'merOrderId=3194ATTACK0001', 'status=TRADE_SUCCESS', 'totalAmount=1'];
  for (let i = 1; parts.length < n; i++) parts.push(`f${i}=%2B+`);
  parts.push(`sign=${'0'.repeat(32)}`);
  return parts.join('&');
}

/** The largest such body under 64 KiB. */
function maxBody(): string {
  let n = 2000;
  while (manyFields(n + 100).length < 64 * 1024 - 64) n += 100;
  return manyFields(n);
}

function line(name: string, r: { status: number; ms: number; healthMaxMs: number }): void {
  console.log(`${name.padEnd(54)} HTTP ${r.status}  answer ${r.ms.toFixed(0).padStart(6)} ms  slowest /healthz meanwhile ${r.healthMaxMs.toFixed(0).padStart(6)} ms`);
}

async function databaseGrowth(base: string, url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const size = async () => Number((await sql`select pg_database_size(current_database()) as n`)[0]!.n);
  const n = Number(process.env.ATTACK_STORAGE_COUNT ?? 1000);
  try {
    await sql`checkpoint`.catch(() => undefined);
    const before = await size();
    // Random padding: Postgres compresses repeated characters, an attacker's bytes need not be.
    const rejectedBody = (i: number) => `${manyFields(40)}&pad=${randomBytes(24 * 1024).toString('base64url')}&nonce=${i}`;
    for (let i = 0; i < n; i++) {
      await fetch(`${base}/notify/ums`, { method: 'POST', headers: { 'content-type': FORM }, body: rejectedBody(i) });
    }
    const afterRejected = await size();
    const valid = paidNotification(`${DEMO.sourceId}ATTACKREPLAY${randomBytes(3).toString('hex')}`, `ATTACK${Date.now()}`);
    for (let i = 0; i < n; i++) {
      await fetch(`${base}/notify/ums`, { method: 'POST', headers: { 'content-type': FORM }, body: valid });
    }
    const afterReplayed = await size();
    const perTenThousand = (bytes: number) => ((bytes / n) * 10_000) / 1024 / 1024;
    console.log(`${n} rejected 32 KiB bodies (random): database +${((afterRejected - before) / 1024 / 1024).toFixed(1)} MB (${perTenThousand(afterRejected - before).toFixed(1)} MB per 10,000)`);
    console.log(`${n} replays of one valid notification: database +${((afterReplayed - afterRejected) / 1024 / 1024).toFixed(1)} MB (${perTenThousand(afterReplayed - afterRejected).toFixed(1)} MB per 10,000)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function main(): Promise<void> {
  const simPort = await freePort();
  const port = await freePort();
  const databaseUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  let dbName: string | undefined;
  let admin: postgres.Sql | undefined;
  if (databaseUrl) {
    admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    dbName = `attacks_${randomBytes(4).toString('hex')}`;
    await admin.unsafe(`create database ${dbName}`);
  }
  const gatewayDb = databaseUrl && dbName ? Object.assign(new URL(databaseUrl), { pathname: `/${dbName}` }).toString() : undefined;

  const sim = start('src/sim/main.js', { UMS_SIM_PORT: String(simPort), LOG_LEVEL: 'warn' });
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'production',
    PORT: String(port),
    UMS_BASE_URL: `http://127.0.0.1:${simPort}`,
    UMS_APP_ID: DEMO.appId,
    UMS_APP_KEY: DEMO.appKey,
    UMS_NOTIFY_KEY: DEMO.notifyKey,
    UMS_SOURCE_ID: DEMO.sourceId,
    UMS_MID: DEMO.mid,
    UMS_TID: DEMO.tid,
    GATEWAY_API_KEYS: `${ADMIN_KEY}:admin`,
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'error',
    ...(gatewayDb ? { DATABASE_URL: gatewayDb } : { PGLITE_DATA_DIR: 'memory://' }),
  };
  const base = `http://127.0.0.1:${port}`;
  // A fresh gateway process per attack: an attack that kills the process must not hide the next.
  const attack = async (name: string, run: () => Promise<void>) => {
    const gateway = start('src/main.js', env);
    const exited = new Promise((r) => gateway.once('exit', r));
    try {
      await waitFor(`${base}/readyz`);
      await run();
    } catch (err) {
      console.log(`${name.padEnd(54)} failed: ${err instanceof Error ? err.message : String(err)}${gateway.exitCode !== null || gateway.signalCode ? ' (the gateway process died)' : ''}`);
    } finally {
      gateway.kill('SIGTERM');
      await exited;
    }
  };
  const only = process.env.ATTACK_ONLY?.split(',').map((s) => s.trim());
  const wanted = (name: string) => !only || only.includes(name);
  try {
    const notify = (body: string) => () => fetch(`${base}/notify/ums`, { method: 'POST', headers: { 'content-type': FORM }, body });
    const twoThousand = 'notify: 2,000 forged fields (%2B+)';
    if (wanted('notify')) await attack(twoThousand, async () => line(twoThousand, await timed(base, notify(manyFields(2000)))));
    const big = maxBody();
    const bigName = `notify: ${big.split('&').length} forged fields, ${(big.length / 1024).toFixed(0)} KiB`;
    if (wanted('notify')) await attack(bigName, async () => line(bigName, await timed(base, notify(big))));

    const literal = ' Did you mean'.repeat(16_000);
    const document = `{ payments(status: "${literal}") { edges { cursor } } }`;
    const graphqlName = `graphql (production): "Did you mean" x16,000, ${(document.length / 1024).toFixed(0)} KiB`;
    if (wanted('graphql')) await attack(graphqlName, async () =>
      line(graphqlName, await timed(base, () => postGraphQL(base, document))),
    );

    const limitSized = `{ payments(status: "${' Did you mean'.repeat(4_700)}") { edges { cursor } } }`;
    const limitName = `graphql (production): "Did you mean" x4,700, ${(limitSized.length / 1024).toFixed(0)} KiB`;
    if (wanted('graphql')) await attack(limitName, async () => line(limitName, await timed(base, () => postGraphQL(base, limitSized))));
    // Each fragment spreads the next twice; the last spreads one that does not exist: 2^22 spreads, no field.
    const chain = Array.from({ length: 22 }, (_, i) => `fragment F${i + 1} on Query { ${i === 0 ? '...Missing' : `...F${i} ...F${i}`} }`).join(' ');
    const chainName = `graphql: 22 fragments each spreading the next twice, no key`;
    if (wanted('graphql')) await attack(chainName, async () => line(chainName, await timed(base, () => postGraphQL(base, `query { ...F22 } ${chain}`, false))));

    if (!wanted('storage')) {
      // skipped
    } else if (gatewayDb) await attack('storage', () => databaseGrowth(base, gatewayDb));
    else console.log('storage growth: set DATABASE_URL or TEST_DATABASE_URL to measure it on Postgres');
  } finally {
    sim.kill('SIGTERM');
    if (admin && dbName) {
      await admin.unsafe(`drop database if exists ${dbName} with (force)`);
      await admin.end({ timeout: 5 });
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
