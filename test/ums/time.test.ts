import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { beijingCompact, beijingDate, beijingDateTime, parseBeijing } from '../../src/ums/time.js';
import { generateOrderId, isOrderIdFor } from '../../src/ums/ids.js';

describe('Beijing time', () => {
  const instant = new Date('2024-06-18T02:30:15.123Z'); // 10:30:15 in Beijing

  it('formats the three wire formats', () => {
    expect(beijingCompact(instant)).toBe('20240618103015');
    expect(beijingDateTime(instant)).toBe('2024-06-18 10:30:15');
    expect(beijingDate(new Date('2024-06-18T16:00:00Z'))).toBe('2024-06-19');
  });

  it('parses both formats back to the instant and refuses nonsense', () => {
    expect(parseBeijing('2024-06-18 10:30:15')?.toISOString()).toBe('2024-06-18T02:30:15.000Z');
    expect(parseBeijing('20240618103015')?.toISOString()).toBe('2024-06-18T02:30:15.000Z');
    expect(parseBeijing('2024-02-31 10:00:00')).toBeUndefined();
    expect(parseBeijing('yesterday')).toBeUndefined();
  });

  for (const tz of ['America/Los_Angeles', 'Pacific/Kiritimati', 'UTC']) {
    it(`gives Beijing time in a process whose TZ is ${tz}`, () => {
      const script =
        "import('./src/ums/time.ts').then(t => process.stdout.write(t.beijingCompact(new Date('2024-06-18T02:30:15Z')) + ' ' + new Date('2024-06-18T02:30:15Z').getHours()))";
      const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      });
      const [beijing, localHour] = out.split(' ');
      expect(beijing).toBe('20240618103015');
      // proves the child really ran in another zone
      if (tz !== 'UTC') expect(localHour).not.toBe('10');
    });
  }
});

describe('order ids', () => {
  it('start with the source id, are 27 alphanumerics and never repeat under load', () => {
    const ids = new Set<string>();
    const at = new Date();
    for (let i = 0; i < 20_000; i++) ids.add(generateOrderId('3194', at));
    expect(ids.size).toBe(20_000);
    for (const id of [...ids].slice(0, 50)) {
      expect(id).toMatch(/^3194\d{17}[0-9A-Za-z]{6}$/);
      expect(isOrderIdFor('3194', id)).toBe(true);
    }
  });

  it('refuses a bad source id and recognises foreign ids', () => {
    expect(() => generateOrderId('31')).toThrow(/4 letters or digits/);
    expect(isOrderIdFor('3194', '1017abcdef')).toBe(false);
    expect(isOrderIdFor('3194', '3194')).toBe(false);
  });
});
