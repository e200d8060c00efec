/**
 * Beijing business days (UTC+8, no daylight saving), whatever the server's zone: a day
 * `YYYY-MM-DD` runs from 00:00 Beijing (16:00 UTC the day before) to the next 00:00.
 */
import { beijingDate } from '../../ums/time.js';

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The instants [start, end) of a Beijing day, or undefined when `date` is not a real YYYY-MM-DD. */
export function beijingDay(date: string): { start: Date; end: Date } | undefined {
  const m = DATE.exec(date);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const utc = Date.UTC(y, mo - 1, d);
  const check = new Date(utc);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return undefined;
  const start = new Date(utc - BEIJING_OFFSET_MS);
  return { start, end: new Date(start.getTime() + DAY_MS) };
}

/** The Beijing day before the one `now` falls in. */
export function previousBeijingDay(now: Date): string {
  return beijingDate(new Date(now.getTime() - DAY_MS));
}

/** Whether Beijing wall-clock time at `now` is at or past `hhmm` (HH:MM). */
export function isPastBeijingTime(now: Date, hhmm: string): boolean {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const local = new Date(now.getTime() + BEIJING_OFFSET_MS);
  return local.getUTCHours() * 60 + local.getUTCMinutes() >= h * 60 + m;
}
