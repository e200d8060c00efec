/**
 * build.mjs's up-to-date check (scripts/build-stamp.mjs): `npm start` skips the build when sizes
 * and mtimes match the stamp, so every kind of change must still be seen. Real files in a
 * temporary directory; mtimes are set explicitly (utimesSync) rather than waited for.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBuild, contentHash, inputStats, readStamp, stampFor, writeStamp, RACY_MS } from '../../scripts/build-stamp.mjs';

const INPUTS = ['src', 'package-lock.json'];
let root: string;
let stampFile: string;
// Whole seconds: a fractional time in seconds does not survive utimes → mtimeMs exactly (float rounding).
const HOUR_AGO = Math.floor(Date.now() / 1000) - 3_600;

function write(path: string, text: string, mtimeSeconds = HOUR_AGO): void {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
  utimesSync(full, mtimeSeconds, mtimeSeconds);
}

/** What build.mjs does after a build: stamp the inputs as they were. */
function stampBuild(): void {
  const statAt = Date.now();
  const stats = inputStats(root, INPUTS);
  writeStamp(stampFile, stampFor(contentHash(root, stats), stats, statAt));
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'build-stamp-'));
  mkdirSync(join(root, 'dist'));
  stampFile = join(root, 'dist', '.build-stamp');
  write('src/a.ts', 'export const a = 1;\n');
  write('src/lib/b.ts', 'export const b = 2;\n');
  write('package-lock.json', '{}\n');
  stampBuild();
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('build stamp', () => {
  it('is current when nothing changed, and leaves the stamp as it is', () => {
    const before = readFileSync(stampFile, 'utf8');
    const check = checkBuild(root, stampFile, INPUTS);
    expect(check.current).toBe(true);
    expect(readFileSync(stampFile, 'utf8')).toBe(before);
  });

  it('sees an edited source (new content, new mtime)', () => {
    write('src/lib/b.ts', 'export const b = 3;\n', HOUR_AGO + 60);
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(false);
  });

  it('sees an edit that keeps the size and the mtime only when the file was racy at stamp time', () => {
    // Same size, same mtime, different content: invisible to stats (which shows the content is
    // not read when stats match), so such a file is recorded only when its mtime is well before
    // the stamp (a later edit gets a later mtime).
    write('src/a.ts', 'export const a = 9;\n');
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(true);
    const now = Date.now() / 1000;
    write('src/a.ts', 'export const a = 1;\n', now);
    stampBuild();
    expect(readStamp(stampFile)?.files['src/a.ts']).toBeUndefined();
    write('src/a.ts', 'export const a = 7;\n', now);
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(false);
  });

  it('sees an added file and a removed file', () => {
    write('src/c.ts', 'export const c = 3;\n');
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(false);
    unlinkSync(join(root, 'src/c.ts'));
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(true);
    unlinkSync(join(root, 'src/lib/b.ts'));
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(false);
  });

  it('sees a changed lock file', () => {
    write('package-lock.json', '{"lockfileVersion":3}\n', HOUR_AGO + 5);
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(false);
  });

  it('a touched file with the same content is current, and the stamp learns its new mtime', () => {
    const touched = HOUR_AGO + 120;
    utimesSync(join(root, 'src/a.ts'), touched, touched);
    const check = checkBuild(root, stampFile, INPUTS);
    expect(check.current).toBe(true);
    expect(readStamp(stampFile)?.files['src/a.ts']?.[1]).toBe(touched * 1000);
  });

  it('no stamp, or a stamp of other content, is not current; an older plain-hash stamp with the same content is', () => {
    rmSync(stampFile);
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(false);
    writeFileSync(stampFile, `${'0'.repeat(64)}\n`);
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(false);
    writeFileSync(stampFile, `${contentHash(root, inputStats(root, INPUTS))}\n`);
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(true);
    expect(Object.keys(readStamp(stampFile)?.files ?? {})).toHaveLength(3);
  });

  it('leaves files written within RACY_MS of the stamp out of it', () => {
    expect(RACY_MS).toBeGreaterThanOrEqual(1000);
    write('src/fresh.ts', 'x\n', Date.now() / 1000);
    stampBuild();
    expect(Object.keys(readStamp(stampFile)?.files ?? {})).not.toContain('src/fresh.ts');
    // Hashed at each start meanwhile: still current, and the content decides.
    expect(checkBuild(root, stampFile, INPUTS).current).toBe(true);
  });
});
