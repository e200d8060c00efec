/**
 * The merchants the simulator serves: each a credential set (appId/appKey, notify key, source
 * number, mid/tid), as UMS keeps one per merchant. A request is authenticated by its appId's key;
 * its business fields name a merchant by mid/tid, which must be one that appId serves (else
 * NO_MERCHANT, as UMS answers); each order's notifications are signed with its merchant's key.
 *
 * The first set is the one the simulator starts with (the gateway's `default`); the gateway adds
 * its other merchants with `register` (at start, and when one is created or updated), so a
 * merchant created at run time works with no other step.
 */
import { SimRejection } from './errors.js';
import type { JsonObject, SimCredentials } from './types.js';

const key = (mid: string, tid: string) => `${mid}\u0000${tid}`;

/** The most merchants one simulator holds (a bound: registrations come over a control endpoint too). */
export const MAX_SIM_MERCHANTS = 1000;

export class SimMerchants {
  readonly primary: SimCredentials;
  readonly #byMidTid = new Map<string, SimCredentials>();
  readonly #appKeys = new Map<string, string>();

  constructor(first: SimCredentials) {
    this.primary = { ...first };
    this.register(this.primary);
  }

  /** Adds (or replaces, by mid/tid) a merchant. An appId's key is the one last registered with it. */
  register(credentials: SimCredentials): void {
    const k = key(credentials.mid, credentials.tid);
    if (!this.#byMidTid.has(k) && this.#byMidTid.size >= MAX_SIM_MERCHANTS) throw new RangeError(`the simulator holds at most ${MAX_SIM_MERCHANTS} merchants`);
    this.#byMidTid.set(k, { ...credentials });
    this.#appKeys.set(credentials.appId, credentials.appKey);
  }

  appKeyOf(appId: string): string | undefined {
    return this.#appKeys.get(appId);
  }

  byMidTid(mid: string, tid: string): SimCredentials | undefined {
    return this.#byMidTid.get(key(mid, tid));
  }

  /**
   * The merchant a request authenticated as `appId` acts for, from its mid/tid. A mid/tid of
   * another app's merchant is NO_MERCHANT. Unknown or missing ones fall back to one of this app's
   * merchants, whose checks (validate.ts checkCommon) then refuse them with the usual message.
   */
  forRequest(body: JsonObject, appId: string): SimCredentials {
    const mid = typeof body.mid === 'string' ? body.mid : undefined;
    const tid = typeof body.tid === 'string' ? body.tid : undefined;
    const named = mid !== undefined && tid !== undefined ? this.byMidTid(mid, tid) : undefined;
    if (named) {
      if (named.appId !== appId) throw new SimRejection('NO_MERCHANT', `商户不存在: mid ${named.mid} is not served by appId ${appId}`);
      return named;
    }
    for (const m of this.#byMidTid.values()) if (m.appId === appId) return m;
    return this.primary;
  }
}
