/**
 * Is dist/ the build of the sources as they are now? build.mjs asks this on every `npm start`,
 * so the answer must be cheap when nothing changed and right when something did.
 *
 * The stamp (dist/.build-stamp, JSON) holds the content hash of every input of the build and the
 * size and mtime of each input file as they were when it was hashed. A start compares the
 * files' sizes and mtimes with it (one stat per file, no reads); only when they differ (a file
 * added, removed, edited, or merely touched, e.g. by a git checkout) does it read and hash the
 * contents, and a touched file whose content hashes the same refreshes the stamp instead of
 * building. Stats are taken before the content is read, so an edit made while hashing or
 * building shows as a difference at the next start.
 *
 * A file written within RACY_MS of the stamp could change again within the same mtime tick with
 * the same size (the problem git calls "racy clean"): such a file's stat is not recorded, so it
 * is hashed at each start until a later refresh records it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Everything the build reads: a change to any of these must rebuild. */
export const INPUTS = ['src', 'bench', 'web', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json', 'scripts/build-web.mjs', 'scripts/bundle-gateway.mjs', 'scripts/patch-postgres.mjs'];
export const RACY_MS = 2_000;

/** Input files under `path` (itself when a file), sorted; a missing input is none. */
function files(path) {
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOTDIR') return [path];
    if (err.code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => (entry.isDirectory() ? files(join(path, entry.name)) : [join(path, entry.name)]));
}

/** Every input file (sorted, relative to root) with its size and mtime. */
export function inputStats(root, inputs = INPUTS) {
  return inputs
    .flatMap((input) => files(join(root, input)))
    .map((file) => {
      const stat = statSync(file);
      return { path: relative(root, file), size: stat.size, mtimeMs: stat.mtimeMs };
    });
}

/** The content hash of the inputs: what decides whether dist/ is current. */
export function contentHash(root, stats) {
  const hash = createHash('sha256');
  for (const { path } of stats) hash.update(path).update('\0').update(readFileSync(join(root, path))).update('\0');
  return hash.digest('hex');
}

/** The stamp in dist/, or undefined (none, or written by an older build.mjs: a plain hash line). */
export function readStamp(stampFile) {
  let text;
  try {
    text = readFileSync(stampFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const stamp = JSON.parse(text);
    if (typeof stamp?.hash === 'string' && stamp.files && typeof stamp.files === 'object') return stamp;
  } catch {
    // An older stamp: only its hash line. Its hash still counts (a content match refreshes it).
  }
  const hash = text.trim();
  return /^[0-9a-f]{64}$/.test(hash) ? { hash, files: {} } : undefined;
}

/**
 * The stamp for inputs with content hash `hash` and these stats, taken at `statAt` (a file's
 * later edit has an mtime of at least statAt, so only files with an mtime near it are racy).
 */
export function stampFor(hash, stats, statAt) {
  const recorded = {};
  for (const { path, size, mtimeMs } of stats) {
    if (statAt - mtimeMs >= RACY_MS) recorded[path] = [size, mtimeMs];
  }
  return { hash, files: recorded };
}

/** Written aside, then renamed over: a reader never sees half a stamp. */
export function writeStamp(stampFile, stamp) {
  const aside = `${stampFile}.${process.pid}`;
  writeFileSync(aside, `${JSON.stringify(stamp)}\n`);
  renameSync(aside, stampFile);
}

/** True when every input is listed in the stamp with the same size and mtime, and no other is. */
export function statsMatch(stamp, stats) {
  if (!stamp || Object.keys(stamp.files).length !== stats.length) return false;
  for (const { path, size, mtimeMs } of stats) {
    const recorded = stamp.files[path];
    if (!recorded || recorded[0] !== size || recorded[1] !== mtimeMs) return false;
  }
  return true;
}

/**
 * Checks dist/ against the sources. `{ current: true }` when it is their build (the stamp is
 * refreshed when only stats moved); otherwise `{ current: false, hash, stats, statAt }` to build
 * with (and to stamp the build with: stampFor).
 */
export function checkBuild(root, stampFile, inputs = INPUTS) {
  const statAt = Date.now();
  const stats = inputStats(root, inputs);
  const stamp = readStamp(stampFile);
  if (statsMatch(stamp, stats)) return { current: true, hash: stamp.hash, stats, statAt };
  const hash = contentHash(root, stats);
  if (stamp?.hash !== hash) return { current: false, hash, stats, statAt };
  try {
    writeStamp(stampFile, stampFor(hash, stats, statAt));
  } catch {
    // dist/ being replaced by another builder this instant: the next start refreshes it.
  }
  return { current: true, hash, stats, statAt };
}
