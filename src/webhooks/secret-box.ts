/**
 * What the webhooks room needs to keep endpoint secrets at rest: seal on the way in, open on the
 * way out. The gateway's implementation is the merchants room's AES-256-GCM box under
 * GATEWAY_SECRET_KEY (src/merchants/secret-box.ts), handed in by app.ts.
 */
export interface SecretBox {
  /** The sealed text of `plain` (safe to store). */
  seal(plain: string): string;
  /** The plain text of what `seal` produced; throws when it was not sealed by this box's key. */
  open(sealed: string): string;
}

/** Thrown when there is no key to seal with (live mode without GATEWAY_SECRET_KEY). */
export class NoSecretKeyError extends Error {
  override name = 'NoSecretKeyError';
}

/** The box of live mode without GATEWAY_SECRET_KEY: every use says which variable to set. */
export const MISSING_SECRET_KEY: SecretBox = {
  seal: () => {
    throw new NoSecretKeyError('GATEWAY_SECRET_KEY must be set before webhook secrets can be stored (live mode)');
  },
  open: () => {
    throw new NoSecretKeyError('GATEWAY_SECRET_KEY must be set to open the stored webhook secrets (live mode)');
  },
};
