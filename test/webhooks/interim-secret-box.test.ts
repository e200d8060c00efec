/** The interim secret box (replaced by the merchants room's at merge): AES-256-GCM, key rules. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InterimSecretBox, NoSecretKeyError, parseSecretKey } from '../../src/webhooks/interim-secret-box.js';

describe('InterimSecretBox', () => {
  it('seals (never the clear text), opens with its key only, and detects tampering', () => {
    const box = new InterimSecretBox(randomBytes(32));
    const sealed = box.seal('whsec_c2VjcmV0');
    expect(sealed).not.toContain('c2VjcmV0');
    expect(box.seal('whsec_c2VjcmV0')).not.toBe(sealed);
    expect(box.open(sealed)).toBe('whsec_c2VjcmV0');
    expect(() => new InterimSecretBox(randomBytes(32)).open(sealed)).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
  });

  it('GATEWAY_SECRET_KEY as hex or base64; live mode without it refuses to seal; simulator mode makes one', () => {
    expect(parseSecretKey('00'.repeat(32))?.length).toBe(32);
    expect(parseSecretKey(randomBytes(32).toString('base64'))?.length).toBe(32);
    expect(parseSecretKey('short')).toBeUndefined();
    const warnings: string[] = [];
    expect(() => InterimSecretBox.fromEnvironment(undefined, false, (m) => warnings.push(m)).seal('x')).toThrow(NoSecretKeyError);
    const sim = InterimSecretBox.fromEnvironment(undefined, true, (m) => warnings.push(m));
    expect(sim.open(sim.seal('x'))).toBe('x');
    expect(warnings).toHaveLength(1);
  });
});
