/**
 * postinstall: mends postgres.js 3.4.9's write buffer around a closed socket.
 *
 * Why: when a connection's backend goes away (a database restart, pg_terminate_backend),
 * - a query written on that connection afterwards had its bytes flushed by a setImmediate that
 *   called `socket.write` on the null socket: an uncatchable TypeError, and the whole gateway
 *   process exited (test/webhooks/database-restart.test.ts hit it in CI);
 * - a write still buffered when the socket closed left `nextWriteTimer` set (cancelled, not
 *   cleared) and its bytes in the buffer: the reconnected socket's start-up message then waited
 *   behind a flush that never came, or went out after the old bytes.
 * Known upstream (porsager/postgres#1154, #1208; fixes not released: PRs #1168, #1209). The mend:
 * a closed connection drops its buffered bytes and its timer, and a flush with no socket fails the
 * connection's queries with CONNECTION_CLOSED (as a close does) instead of writing.
 *
 * Idempotent (a marker says the file is mended). For any other postgres.js version it only
 * warns: check whether the release fixed it, then drop this script and the postinstall.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PATCHED_VERSION = '3.4.9';
const MARKER = '/* ums-gateway: closed-socket writes, porsager/postgres#1208 */';
const EDITS = [
  {
    what: 'nextWrite',
    count: 1,
    from: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    to: `  function nextWrite(fn) {
    ${MARKER}
    if (socket === null) {
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
  },
  {
    what: 'terminate and closed',
    count: 2,
    from: `\n    clearImmediate(nextWriteTimer)\n`,
    to: `\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n`,
  },
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'node_modules', 'postgres');

if (!existsSync(join(pkg, 'package.json'))) {
  console.log('patch-postgres: postgres.js is not installed; nothing to mend');
  process.exit(0);
}
const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
if (version !== PATCHED_VERSION) {
  console.warn(`patch-postgres: postgres.js ${version} is not ${PATCHED_VERSION}: not mended. Check that porsager/postgres#1208 is fixed in it, then remove scripts/patch-postgres.mjs and the postinstall.`);
  process.exit(0);
}

let mended = 0;
for (const file of ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js']) {
  const path = join(pkg, file);
  if (!existsSync(path)) continue;
  let text = readFileSync(path, 'utf8');
  if (text.includes(MARKER)) continue;
  for (const edit of EDITS) {
    const found = text.split(edit.from).length - 1;
    if (found !== edit.count) {
      console.error(`patch-postgres: ${file} of postgres.js ${version}: expected ${edit.count} × ${edit.what}, found ${found}; not mended`);
      process.exit(1);
    }
    text = text.split(edit.from).join(edit.to);
  }
  writeFileSync(path, text);
  mended += 1;
}
console.log(`patch-postgres: postgres.js ${version}: writes on a closed socket mended (${mended} file(s) now)`);
