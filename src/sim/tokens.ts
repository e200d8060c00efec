/**
 * Access tokens handed out by `/v1/token/access` (PROTOCOL.md §2). Tokens are random, live
 * `ttlMs`, and a new token does not invalidate older ones (UMS does not document either way; the
 * lenient reading keeps concurrent clients working).
 */
import { randomBytes } from 'node:crypto';

export class TokenStore {
  readonly #expiresAt = new Map<string, number>();
  /** The appId each token was issued to: a token acts for that app's merchants only. */
  readonly #appIds = new Map<string, string>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => Date,
  ) {}

  issue(appId = ''): { accessToken: string; expiresIn: number } {
    this.#sweep();
    const accessToken = randomBytes(16).toString('hex');
    this.#expiresAt.set(accessToken, this.now().getTime() + this.ttlMs);
    this.#appIds.set(accessToken, appId);
    return { accessToken, expiresIn: Math.round(this.ttlMs / 1000) };
  }

  /** 'valid', 'expired' (known but past its lifetime) or 'unknown'. */
  check(token: string): 'valid' | 'expired' | 'unknown' {
    const expiresAt = this.#expiresAt.get(token);
    if (expiresAt === undefined) return 'unknown';
    return expiresAt > this.now().getTime() ? 'valid' : 'expired';
  }

  /** The appId a known token was issued to. */
  appIdOf(token: string): string | undefined {
    return this.#appIds.get(token);
  }

  /** Makes every issued token expired at once (tests of the client's refresh path). */
  expireAll(): number {
    const past = this.now().getTime() - 1;
    for (const token of this.#expiresAt.keys()) this.#expiresAt.set(token, past);
    return this.#expiresAt.size;
  }

  #sweep(): void {
    // Forget tokens long dead so a long-running simulator does not grow without bound.
    const horizon = this.now().getTime() - 24 * 60 * 60 * 1000;
    for (const [token, expiresAt] of this.#expiresAt) {
      if (expiresAt < horizon) {
        this.#expiresAt.delete(token);
        this.#appIds.delete(token);
      }
    }
  }
}
