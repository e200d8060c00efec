import { describe, expect, it } from 'vitest';
import { DiagnosisBudget, diagnoseSignature, diagnosisLine, type SignatureDiagnosis } from '../../src/ums/sign-doctor.js';
import { notifySign } from '../../src/ums/sign.js';
import { vectors } from '../support/vectors.js';

const ntf04 = vectors.find((v) => v.id.startsWith('NTF-04'))!;
const ntf05 = vectors.find((v) => v.id.startsWith('NTF-05'))!;
const KEY = ntf04.input.key as string;
const OTHER_KEY = 'Zq8RtY2uI4oP6aS8dF0gH2jK4lZ6xC8vB0nM2qW4eR6t';
const APP_KEY = '1c4e3b16066244ae9b236a09e5b312e8';
const base = ntf04.input.fields as Record<string, string>;
const goodSign = ntf04.expected.sign as string;
const mistakes = ntf04.expected.commonMistakes as Record<string, string>;

/** No secret and no signature value may appear anywhere in what the doctor says. */
function expectNoSecrets(d: SignatureDiagnosis, ...secrets: string[]) {
  const text = JSON.stringify(d);
  for (const secret of secrets) {
    expect(text).not.toContain(secret);
    expect(text.toLowerCase()).not.toContain(secret.toLowerCase());
  }
}

function signed(fields: Record<string, string>, key = KEY, signType: 'MD5' | 'SHA256' = 'MD5') {
  return { ...fields, sign: notifySign(fields, key, signType) };
}

describe('diagnoseSignature', () => {
  it('says valid for a correct notification, with the current key', () => {
    const d = diagnoseSignature({ ...base, sign: goodSign }, { current: KEY });
    expect(d).toMatchObject({ ok: true, cause: 'valid', algorithm: 'MD5', algorithmFrom: 'signType', keySlot: 'current' });
    expectNoSecrets(d, KEY, goodSign);
  });

  it('accepts lower-case hex and infers the algorithm from the length when signType is absent', () => {
    const { signType: _omit, ...noType } = ntf05.input.fields as Record<string, string>;
    const d = diagnoseSignature(signed(noType, KEY, 'SHA256'), { current: KEY });
    expect(d).toMatchObject({ ok: true, algorithm: 'SHA256', algorithmFrom: 'sign-length', signTypeDeclared: null });
  });

  it('flags a notification signed with the previous key during a rotation', () => {
    const d = diagnoseSignature({ ...base, sign: goodSign }, { current: OTHER_KEY, previous: KEY });
    expect(d).toMatchObject({ ok: true, cause: 'valid-with-previous-key', keySlot: 'previous' });
    expect(d.hints.join(' ')).toContain('UMS_NOTIFY_KEY_PREVIOUS');
    expectNoSecrets(d, KEY, OTHER_KEY, goodSign);
  });

  it('names a wrong key when the notification is well-formed and nothing verifies', () => {
    const d = diagnoseSignature({ ...base, sign: goodSign }, { current: OTHER_KEY, appKey: APP_KEY });
    expect(d.ok).toBe(false);
    expect(d.cause).toBe('wrong-key');
    expect(d.summary).toMatch(/signType present/);
    expect(d.summary).toMatch(/key is most likely wrong/);
    expect(d.hints.join(' ')).toMatch(/communication key/);
    expectNoSecrets(d, KEY, OTHER_KEY, APP_KEY, goodSign);
  });

  it('recognises the appKey used where the communication key belongs', () => {
    const d = diagnoseSignature(signed(base, APP_KEY), { current: KEY, appKey: APP_KEY });
    expect(d).toMatchObject({ ok: false, cause: 'app-key-used', keySlot: 'appKey' });
    expectNoSecrets(d, KEY, APP_KEY);
  });

  it('spots a key with a trailing newline', () => {
    const d = diagnoseSignature({ ...base, sign: goodSign }, { current: `${KEY}\n` });
    expect(d).toMatchObject({ ok: false, cause: 'key-whitespace', keySlot: 'current' });
    expect(d.hints.join(' ')).toContain('UMS_NOTIFY_KEY');
    expectNoSecrets(d, KEY, goodSign);
  });

  const mistakeCases: [string, string, string[]][] = [
    ['signTypeExcludedFromString', 'sign-type-excluded', ['signType']],
    ['emptyValuesKept', 'empty-values-kept', ['bankCardNo', 'subBuyerId', 'bankInfo']],
    ['zeroValueDropped', 'zero-values-dropped', ['couponAmount']],
    ['ampersandBeforeKey', 'separator-before-key', []],
    ['keyAsKeyEqualsParam', 'separator-before-key', []],
  ];
  for (const [mistake, cause, suspects] of mistakeCases) {
    it(`explains the common mistake "${mistake}" (vector NTF-04)`, () => {
      const sign = mistakes[mistake]!;
      const d = diagnoseSignature({ ...base, sign }, { current: KEY });
      expect(d.ok).toBe(false);
      expect(d.cause).toBe(cause);
      expect([...d.suspectFields].sort()).toEqual([...suspects].sort());
      expectNoSecrets(d, KEY, sign);
    });
  }

  it('recognises values that arrive encoded twice', () => {
    const d = diagnoseSignature({ ...base, payTime: '2024-06-18+10%3A31%3A02', sign: goodSign }, { current: KEY });
    expect(d.cause).toBe('double-encoded-values');
    expect(d.suspectFields).toEqual(['payTime']);
    expect(d.summary).toMatch(/encoded twice/);
  });

  it('recognises a literal "+" that was decoded into a space', () => {
    const fields = signed({ ...base, buyerId: 'oQx9a5+bC7dE1fG3hJ5kL7mN9pQr' });
    const d = diagnoseSignature({ ...fields, buyerId: 'oQx9a5 bC7dE1fG3hJ5kL7mN9pQr' }, { current: KEY });
    expect(d.cause).toBe('plus-decoded-as-space');
    expect(d.suspectFields).toEqual(['buyerId']);
  });

  it('points at a missing field when a field UMS always sends is absent', () => {
    const { notifyId: _dropped, ...fields } = base;
    const d = diagnoseSignature({ ...fields, sign: goodSign }, { current: KEY });
    expect(d.cause).toBe('missing-field');
    expect(d.suspectFields).toEqual(['notifyId']);
    expect(d.hints.join(' ')).toMatch(/fixed field list/);
  });

  it('takes the key list as the notify path holds it, and sums up in one line', () => {
    const d = diagnoseSignature({ ...base, sign: goodSign }, [OTHER_KEY, KEY]);
    expect(d.cause).toBe('valid-with-previous-key');
    const wrong = diagnoseSignature({ ...base, sign: goodSign }, [OTHER_KEY]);
    const line = diagnosisLine(wrong);
    expect(line).toMatch(/^bad-signature\/wrong-key: well-formed MD5 notification \(signType present\)/);
    for (const secret of [KEY, OTHER_KEY, goodSign]) expect(line).not.toContain(secret);
  });

  it('reports a missing sign, a malformed sign, an unsupported signType and a length mismatch', () => {
    expect(diagnoseSignature({ ...base }, { current: KEY }).cause).toBe('missing-sign');
    const garbled = diagnoseSignature({ ...base, sign: 'F03E278D CBCF4032' }, { current: KEY });
    expect(garbled.cause).toBe('malformed-sign');
    expectNoSecrets(garbled, 'F03E278D CBCF4032');
    expect(diagnoseSignature({ ...base, signType: 'RSA2', sign: goodSign }, { current: KEY })).toMatchObject({
      cause: 'unsupported-sign-type',
      signTypeDeclared: 'RSA2',
    });
    expect(diagnoseSignature({ ...base, signType: 'SHA256', sign: goodSign }, { current: KEY }).cause).toBe(
      'sign-type-length-mismatch',
    );
  });

  it('does bounded work on a body with thousands of suspect fields (a variant per field would be quadratic)', () => {
    const fields: Record<string, string> = { ...base, sign: goodSign };
    // Every value looks encoded once too often and holds a space: each field is a suspect.
    for (let i = 1; i <= 2_000; i++) fields[`f${i}`] = '+ %2B';
    const started = performance.now();
    const d = diagnoseSignature(fields, { current: OTHER_KEY, previous: KEY, appKey: APP_KEY });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(d.cause).toBe('wrong-key');
  });

  it('looks no further than the cheap checks into a body that names no order, or when its budget is spent', () => {
    const { merOrderId: _dropped, ...noOrder } = base;
    const stranger = diagnoseSignature({ ...noOrder, sign: goodSign }, { current: OTHER_KEY });
    expect(stranger).toMatchObject({ ok: false, cause: 'not-a-notification' });
    // The cheap checks still answer for any body.
    expect(diagnoseSignature({ ...noOrder }, { current: KEY }).cause).toBe('missing-sign');

    let now = 0;
    const budget = new DiagnosisBudget({ burst: 2, perSecond: 1, now: () => now });
    const forged = { ...base, sign: goodSign };
    const causes = () => diagnoseSignature(forged, { current: OTHER_KEY }, { budget }).cause;
    expect([causes(), causes(), causes()]).toEqual(['wrong-key', 'wrong-key', 'not-diagnosed']);
    now += 1_000;
    expect([causes(), causes()]).toEqual(['wrong-key', 'not-diagnosed']);
    // A valid signature never spends a token.
    expect(diagnoseSignature(forged, { current: KEY }, { budget }).cause).toBe('valid');
  });
});
