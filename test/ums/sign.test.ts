import { describe, expect, it } from 'vitest';
import {
  formParamUrl,
  javaUrlEncode,
  notifySign,
  notifySigningString,
  openBodySigHeader,
  openSignature,
  openStringToSign,
  sha256Hex,
  tokenSignature,
  verifyNotifySign,
  type NotifySignType,
} from '../../src/ums/sign.js';
import { vectors, vectorsOf } from '../support/vectors.js';

const str = (v: unknown) => v as string;

describe('the vector file', () => {
  it('has every kind of vector we implement', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(13);
    for (const kind of ['open-body-sig', 'open-form-param', 'token-request', 'key-appended-sign', 'notification'] as const) {
      expect(vectorsOf(kind).length, kind).toBeGreaterThan(0);
    }
  });
});

describe('OPEN-BODY-SIG (§1)', () => {
  for (const v of vectorsOf('open-body-sig')) {
    it(v.id, () => {
      const input = v.input as { appId: string; appKey: string; timestamp: string; nonce: string; body: string };
      expect(sha256Hex(input.body)).toBe(v.expected.bodyDigest);
      expect(openStringToSign(input)).toBe(v.expected.stringToSign);
      expect(openSignature(input)).toBe(v.expected.signature);
      expect(openBodySigHeader(input)).toBe(v.expected.authorization);
      // The same signature over the bytes rather than the string.
      expect(openSignature({ ...input, body: Buffer.from(input.body, 'utf8') })).toBe(v.expected.signature);
      if (v.contrast) {
        const other = openSignature({ ...input, body: v.contrast.body });
        expect(other).toBe(v.contrast.expectedSignature);
        expect(other).not.toBe(v.expected.signature);
      }
    });
  }
});

describe('OPEN-FORM-PARAM (§3)', () => {
  for (const v of vectorsOf('open-form-param')) {
    it(v.id, () => {
      const input = v.input as { appId: string; appKey: string; timestamp: string; nonce: string; content: string; path: string };
      expect(openSignature({ ...input, body: input.content })).toBe(v.expected.signature);
      const url = formParamUrl({ ...input, baseUrl: 'https://test-api-open.chinaums.com' });
      expect(url).toBe(v.expected.url);
      // Decoding the query once gives back the raw content that was signed.
      expect(new URL(url).searchParams.get('content')).toBe(input.content);
    });
  }

  it('encodes like java.net.URLEncoder', () => {
    expect(javaUrlEncode("a b+c/d=e*f~g!h'(i)")).toBe('a+b%2Bc%2Fd%3De*f%7Eg%21h%27%28i%29');
    expect(javaUrlEncode('咖啡')).toBe('%E5%92%96%E5%95%A1');
  });
});

describe('token request (§2)', () => {
  for (const v of vectorsOf('token-request')) {
    it(v.id, () => {
      const input = v.input as { appId: string; appKey: string; timestamp: string; nonce: string };
      const method = v.id.includes('sha1') ? 'SHA1' : 'SHA256';
      expect(tokenSignature({ ...input, method })).toBe(v.expected.signature);
      expect(input.appId + input.timestamp + input.nonce + input.appKey).toBe(v.expected.stringToSign);
    });
  }
});

describe('key-appended sign (§4.2)', () => {
  for (const v of vectorsOf('key-appended-sign')) {
    it(v.id, () => {
      const input = v.input as { fields: Record<string, string>; key: string; signType: NotifySignType };
      expect(notifySigningString(input.fields)).toBe(v.expected.signingString);
      expect(notifySign(input.fields, input.key, input.signType)).toBe(v.expected.signUpperHex);
      expect(notifySign(input.fields, input.key, input.signType).toLowerCase()).toBe(v.expected.signLowerHex);
    });
  }
});

describe('the signing string orders names by UTF-8 bytes', () => {
  it('sorts ASCII names as UMS does (upper case before lower case, shorter prefix first)', () => {
    expect(notifySigningString({ b: '2', a: '1', B: '3', ab: '4', sign: 'x', empty: '' })).toBe('B=3&a=1&ab=4&b=2');
  });

  it('puts U+E000 before U+1F600, as their UTF-8 bytes do (their UTF-16 code units sort the other way)', () => {
    expect('\u{1F600}' < '\uE000').toBe(true);
    expect(notifySigningString({ '\u{1F600}': 'a', '\uE000': 'b', z: 'c' })).toBe('z=c&\uE000=b&\u{1F600}=a');
  });
});

describe('notifications (§4)', () => {
  for (const v of vectorsOf('notification')) {
    const input = v.input as { fields?: Record<string, string>; formBody?: string; key: string; signType?: NotifySignType };
    const formBody = str(input.formBody ?? v.expected.formBody);
    const decoded = Object.fromEntries(new URLSearchParams(formBody));

    it(`${v.id}: the form body decodes once to the signed fields`, () => {
      const fields = input.fields ?? (v.expected.decodedFields as Record<string, string>);
      expect(decoded).toEqual({ ...fields, sign: v.expected.sign });
      expect(notifySigningString(decoded)).toBe(v.expected.signingString);
    });

    it(`${v.id}: verifies, and fails with the wrong key or a tampered field`, () => {
      expect(verifyNotifySign(decoded, [input.key])).toMatchObject({ ok: true });
      if (input.signType) expect(notifySign(decoded, input.key, input.signType)).toBe(v.expected.sign);
      // lower-case hex is accepted too
      expect(verifyNotifySign({ ...decoded, sign: str(v.expected.sign).toLowerCase() }, [input.key]).ok).toBe(true);
      // a rotation: the old key is tried second
      expect(verifyNotifySign(decoded, ['not-the-key', input.key])).toEqual({ ok: true, signType: expect.any(String), keyIndex: 1 });
      expect(verifyNotifySign(decoded, ['not-the-key'])).toMatchObject({ ok: false, reason: 'mismatch' });
      expect(verifyNotifySign({ ...decoded, totalAmount: '999999' }, [input.key]).ok).toBe(false);
      expect(verifyNotifySign({ ...decoded, extraField: 'added' }, [input.key]).ok).toBe(false);
      const { sign: _sign, ...unsigned } = decoded;
      expect(verifyNotifySign(unsigned, [input.key])).toEqual({ ok: false, reason: 'missing-sign' });
    });

    if (v.expected.wrongIfSignTypeExcluded) {
      it(`${v.id}: excluding signType gives the published wrong value, which must not verify`, () => {
        const { signType: _st, ...withoutSignType } = decoded;
        expect(notifySign(withoutSignType, input.key, 'SHA256')).toBe(v.expected.wrongIfSignTypeExcluded);
        expect(verifyNotifySign({ ...decoded, sign: str(v.expected.wrongIfSignTypeExcluded) }, [input.key]).ok).toBe(false);
      });
    }

    const mistakes = v.expected.commonMistakes as Record<string, string> | undefined;
    if (mistakes) {
      for (const [mistake, wrongSign] of Object.entries(mistakes)) {
        it(`${v.id}: the common mistake "${mistake}" does not verify`, () => {
          expect(wrongSign).not.toBe(v.expected.sign);
          expect(verifyNotifySign({ ...decoded, sign: wrongSign }, [input.key]).ok).toBe(false);
        });
      }
    }
  }

  it('infers the algorithm from the sign length when signType is absent', () => {
    const fields = { merOrderId: '31940001', status: 'TRADE_SUCCESS', totalAmount: '1' };
    for (const signType of ['MD5', 'SHA256'] as const) {
      const sign = notifySign(fields, 'k', signType);
      expect(verifyNotifySign({ ...fields, sign }, ['k'])).toEqual({ ok: true, signType, keyIndex: 0 });
    }
    expect(verifyNotifySign({ ...fields, sign: 'abc' }, ['k'])).toEqual({ ok: false, reason: 'unknown-sign-type' });
    expect(verifyNotifySign({ ...fields, signType: 'RSA', sign: 'abc' }, ['k'])).toEqual({ ok: false, reason: 'unknown-sign-type' });
  });
});
