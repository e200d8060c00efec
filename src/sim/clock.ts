/**
 * Beijing wall-clock time (UTC+8) as the simulator writes and reads it. Deliberately its own small
 * implementation rather than src/ums/time.ts: the simulator's checks must not share a misreading
 * with the client they judge.
 */

const OFFSET_MS = 8 * 60 * 60 * 1000;

function parts(at: Date): string[] {
  const d = new Date(at.getTime() + OFFSET_MS);
  return [
    String(d.getUTCFullYear()).padStart(4, '0'),
    ...[d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) =>
      String(n).padStart(2, '0'),
    ),
  ];
}

/** `yyyyMMddHHmmss` */
export function compact(at: Date): string {
  return parts(at).join('');
}

/** `yyyy-MM-dd HH:mm:ss` */
export function dateTime(at: Date): string {
  const [y, mo, d, h, mi, s] = parts(at);
  return `${y}-${mo}-${d} ${h}:${mi}:${s}`;
}

/** `yyyy-MM-dd` */
export function date(at: Date): string {
  const [y, mo, d] = parts(at);
  return `${y}-${mo}-${d}`;
}

/** `yyMMdd`, the start of UMS serial numbers. */
export function shortDate(at: Date): string {
  return compact(at).slice(2, 8);
}

const COMPACT = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function toInstant(m: RegExpExecArray | null): Date | undefined {
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1).map(Number) as number[];
  const utc = Date.UTC(y!, mo! - 1, d!, h, mi, s);
  const back = new Date(utc);
  if (back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return new Date(utc - OFFSET_MS);
}

/** Reads `yyyyMMddHHmmss` (auth headers); `undefined` when it is not exactly that. */
export function parseCompact(text: string): Date | undefined {
  return toInstant(COMPACT.exec(text));
}

/** Reads `yyyy-MM-dd HH:mm:ss` (body fields); `undefined` when it is not exactly that. */
export function parseDateTime(text: string): Date | undefined {
  return toInstant(DATE_TIME.exec(text));
}

/** Reads `yyyy-MM-dd`; `undefined` when it is not exactly that. */
export function parseDate(text: string): Date | undefined {
  return toInstant(DATE.exec(text));
}
