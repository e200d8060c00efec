/** Amounts read from UMS answers (src/ums/client.ts `toNumber`): whole, non-negative fen only. */
import { describe, expect, it } from 'vitest';
import { toNumber } from '../../src/ums/answers.js';

describe('toNumber (amounts in UMS answers)', () => {
  it('reads whole non-negative fen from a JSON number or a string of digits', () => {
    expect([toNumber(0), toNumber(100), toNumber('100'), toNumber(' 2500 '), toNumber('0')]).toEqual([0, 100, 100, 2500, 0]);
  });

  it('treats negatives, decimals, exponents and non-numbers as absent', () => {
    const bad: unknown[] = [-1, '-1', 1.5, '1.00', '0.5', '1e3', 1e300, Number.NaN, Infinity, '', ' ', '12a', null, undefined, {}, true];
    expect(bad.map((v) => toNumber(v))).toEqual(bad.map(() => undefined));
  });

  it('refuses integers beyond the safe range', () => {
    expect(toNumber('9007199254740993')).toBeUndefined();
    expect(toNumber(2 ** 53)).toBeUndefined();
  });
});
