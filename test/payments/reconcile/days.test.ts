/** Beijing business days (UTC+8), whatever the process's zone. */
import { describe, expect, it } from 'vitest';
import { beijingDay, isPastBeijingTime, previousBeijingDay } from '../../../src/payments/reconcile/days.js';

describe('Beijing business days', () => {
  it('runs from 16:00 UTC the day before to 16:00 UTC', () => {
    expect(beijingDay('2026-12-07')).toEqual({ start: new Date('2026-12-06T16:00:00Z'), end: new Date('2026-12-07T16:00:00Z') });
    expect(beijingDay('2024-02-29')?.start.toISOString()).toBe('2024-02-28T16:00:00.000Z');
  });

  it('refuses what is no day', () => {
    for (const text of ['2026-02-29', '2026-13-01', '2026-12-7', '20261207', '', '2026-12-07 '] as const) expect(beijingDay(text)).toBeUndefined();
  });

  it('knows yesterday and the schedule time in Beijing', () => {
    // 2026-12-07 17:30 UTC is 2026-12-08 01:30 in Beijing.
    const now = new Date('2026-12-07T17:30:00Z');
    expect(previousBeijingDay(now)).toBe('2026-12-07');
    expect(isPastBeijingTime(now, '01:30')).toBe(true);
    expect(isPastBeijingTime(now, '02:30')).toBe(false);
  });
});
