/**
 * Beijing time (UTC+8, no daylight saving) as UMS puts it on the wire, whatever the process's TZ.
 *
 * Three formats exist: the auth header's `yyyyMMddHHmmss`, the body's `yyyy-MM-dd HH:mm:ss`
 * (requestTimestamp, expireTime, payTime) and the date `yyyy-MM-dd` (billDate, settleDate).
 */

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

interface Parts {
  yyyy: string;
  MM: string;
  dd: string;
  HH: string;
  mm: string;
  ss: string;
  SSS: string;
}

function beijingParts(at: Date): Parts {
  // Shift the instant by +8h and read it with the UTC getters: no dependence on process.env.TZ.
  const d = new Date(at.getTime() + BEIJING_OFFSET_MS);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    yyyy: p(d.getUTCFullYear(), 4),
    MM: p(d.getUTCMonth() + 1),
    dd: p(d.getUTCDate()),
    HH: p(d.getUTCHours()),
    mm: p(d.getUTCMinutes()),
    ss: p(d.getUTCSeconds()),
    SSS: p(d.getUTCMilliseconds(), 3),
  };
}

/** `yyyyMMddHHmmss`: OPEN-BODY-SIG, OPEN-FORM-PARAM and token timestamps. */
export function beijingCompact(at: Date = new Date()): string {
  const t = beijingParts(at);
  return `${t.yyyy}${t.MM}${t.dd}${t.HH}${t.mm}${t.ss}`;
}

/** `yyyyMMddHHmmssSSS`: the time part of generated order numbers. */
export function beijingCompactMillis(at: Date = new Date()): string {
  return beijingCompact(at) + beijingParts(at).SSS;
}

/** `yyyy-MM-dd HH:mm:ss`: requestTimestamp, expireTime, payTime and friends. */
export function beijingDateTime(at: Date = new Date()): string {
  const t = beijingParts(at);
  return `${t.yyyy}-${t.MM}-${t.dd} ${t.HH}:${t.mm}:${t.ss}`;
}

/** `yyyy-MM-dd`: billDate, settleDate. */
export function beijingDate(at: Date = new Date()): string {
  const t = beijingParts(at);
  return `${t.yyyy}-${t.MM}-${t.dd}`;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

/**
 * Reads a Beijing wall-clock time in either wire format and returns the instant, or `undefined`
 * when the text is not such a time (UMS fields are untrusted input).
 */
export function parseBeijing(text: string): Date | undefined {
  const m = DATE_TIME.exec(text) ?? COMPACT.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(utc);
  // Reject impossible dates such as 2024-02-31 that Date.UTC would silently roll over.
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return undefined;
  }
  return new Date(utc - BEIJING_OFFSET_MS);
}
