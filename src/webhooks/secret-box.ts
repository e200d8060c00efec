/**
 * What the webhooks room needs to keep endpoint secrets at rest: seal on the way in, open on the
 * way out. The gateway's one implementation is the merchants room's AES-256-GCM box under
 * GATEWAY_SECRET_KEY; until it is wired here, interim-secret-box.ts stands in (same algorithm).
 */
export interface SecretBox {
  /** The sealed text of `plain` (safe to store). */
  seal(plain: string): string;
  /** The plain text of what `seal` produced; throws when it was not sealed by this box's key. */
  open(sealed: string): string;
}
