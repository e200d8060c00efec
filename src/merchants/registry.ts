/**
 * Every merchant this gateway acts for, in memory: the environment's `default` and the stored
 * ones, each with its own UmsClient (appId/appKey, auth mode, token cache), UmsOperations (mid,
 * tid, notifyUrl, sourceId) and notify keys. Looked up by id (a payment's merchant_id) or by mid
 * and tid (a notification posted to `/notify/ums`) with no database round trip.
 *
 * - At start, every stored merchant is loaded (a box sealed under GATEWAY_SECRET_KEY_PREVIOUS is
 *   sealed again under the current key: the rotation's second step); then the registry LISTENs on
 *   MERCHANT_CHANNEL and reloads whenever any instance creates or updates one (and after the
 *   LISTEN reconnects, and every `refreshIntervalMs` as a safety net).
 * - A merchant whose secrets cannot be opened (wrong key) is left out, with an error line naming
 *   GATEWAY_SECRET_KEY: its payments fail as "merchant not available" rather than the gateway
 *   refusing to start for everyone.
 * - A changed merchant gets a new client; the old one is closed once its calls in flight end.
 */
import type { Config } from '../config.js';
import type { MerchantRow } from '../db/schema.js';
import type { ListenSource } from '../events/postgres-bus.js';
import { errorSummary } from '../lib/errors.js';
import type { Logger } from '../log.js';
import { UmsClient, type UmsClientOptions } from '../ums/client.js';
import { UmsOperations } from '../ums/operations.js';
import { DEFAULT_MERCHANT_ID } from './ids.js';
import { defaultProfile, parseSecrets, profileFromRow, type DefaultProfileConfig, type MerchantProfile } from './profile.js';
import type { SecretBox } from './secret-box.js';
import { Reloader } from '../events/reloader.js';
import { MERCHANT_CHANNEL, type MerchantStore } from './store.js';

/** One merchant, ready to act for: what payments/ needs (commands/deps.ts MerchantUms). */
export interface MerchantRuntime {
  readonly id: string;
  readonly profile: MerchantProfile;
  readonly enabled: boolean;
  readonly sourceId: string;
  readonly client: UmsClient;
  readonly ums: UmsOperations;
  /** The notify keys' values, current first (what verifies this merchant's notifications). */
  readonly notifyKeys: readonly string[];
}

export interface MerchantRegistryOptions {
  config: DefaultProfileConfig & Pick<Config, 'umsNotifyUrl'>;
  store: MerchantStore;
  /** Undefined: no GATEWAY_SECRET_KEY in live mode; stored merchants cannot be opened. */
  box: SecretBox | undefined;
  listener?: ListenSource;
  /** For every client: baseUrl (the simulator's in simulator mode), logger, onCall. */
  clientOptions: Omit<UmsClientOptions, 'appId' | 'appKey' | 'authMode'>;
  /** The default merchant's client, when the caller built it already (else built here). */
  defaultClient?: UmsClient;
  log?: Logger;
  /** Called with every profile loaded or changed, `default` first (the simulator learns them). */
  onProfile?: (profile: MerchantProfile) => void;
  /** Safety-net full reload period (default 30000 ms; 0: off). */
  refreshIntervalMs?: number;
}

export class MerchantRegistry {
  readonly #options: MerchantRegistryOptions;
  readonly #default: MerchantRuntime;
  #byId = new Map<string, MerchantRuntime>();
  #byMidTid = new Map<string, MerchantRuntime>();
  /** The row each stored runtime was built from (updatedAt + secrets decide whether to rebuild). */
  #built = new Map<string, MerchantRow>();
  readonly #reloader: Reloader;
  #closed = false;
  readonly #ownsDefaultClient: boolean;

  constructor(options: MerchantRegistryOptions) {
    this.#options = options;
    const profile = defaultProfile(options.config);
    this.#ownsDefaultClient = options.defaultClient === undefined;
    this.#default = runtimeOf(profile, options.defaultClient ?? clientFor(profile, options.clientOptions));
    this.#index([]);
    this.#reloader = new Reloader(
      async () => this.#replace(await options.store.list()),
      // The merchants held stay in force meanwhile.
      (err) => options.log?.warn({ err: errorSummary(err) }, 'could not reload merchants'),
    );
  }

  /** Announces `default`, LISTENs, loads the stored merchants (re-sealing old boxes), starts the safety net. */
  async start(): Promise<void> {
    this.#options.onProfile?.(this.#default.profile);
    if (this.#options.listener) await this.#reloader.listen(this.#options.listener, MERCHANT_CHANNEL);
    await this.#resealOldBoxes();
    await this.reload();
    this.#reloader.every(this.#options.refreshIntervalMs ?? 30_000);
  }

  get defaultMerchant(): MerchantRuntime {
    return this.#default;
  }

  /** The merchant with this id (enabled or not); undefined when unknown or not openable here. */
  merchant(id: string): MerchantRuntime | undefined {
    return id === DEFAULT_MERCHANT_ID ? this.#default : this.#byId.get(id);
  }

  /** The merchant with this mid and tid; with no tid, the one merchant with this mid (if only one). */
  byMidTid(mid: string, tid: string | undefined): MerchantRuntime | undefined {
    if (tid !== undefined) return this.#byMidTid.get(`${mid}\u0000${tid}`);
    let found: MerchantRuntime | undefined;
    for (const m of this.all()) {
      if (m.profile.mid !== mid) continue;
      if (found) return undefined;
      found = m;
    }
    return found;
  }

  /** `default` first, then the stored ones by id. */
  all(): MerchantRuntime[] {
    return [this.#default, ...this.#byId.values()];
  }

  /** Reads the stored merchants again (coalesced: see events/reloader.ts). */
  reload(): Promise<void> {
    return this.#reloader.reload();
  }

  #replace(rows: readonly MerchantRow[]): void {
    const next = new Map<string, MerchantRuntime>();
    const built = new Map<string, MerchantRow>();
    const retired: MerchantRuntime[] = [];
    for (const row of rows) {
      if (row.id === DEFAULT_MERCHANT_ID) continue;
      const before = this.#built.get(row.id);
      const current = this.#byId.get(row.id);
      if (current && before && sameVersion(before, row)) {
        next.set(row.id, current);
        built.set(row.id, row);
        continue;
      }
      const profile = this.#open(row);
      if (current) retired.push(current);
      if (!profile) continue;
      next.set(row.id, runtimeOf(profile, clientFor(profile, this.#options.clientOptions)));
      built.set(row.id, row);
      this.#options.onProfile?.(profile);
    }
    for (const [id, runtime] of this.#byId) if (!next.has(id) && !retired.includes(runtime)) retired.push(runtime);
    this.#byId = next;
    this.#built = built;
    this.#index([...next.values()]);
    // Calls in flight on a retired client finish: undici's close waits for them.
    for (const runtime of retired) void runtime.client.close().catch(() => {});
  }

  #index(stored: readonly MerchantRuntime[]): void {
    const byMidTid = new Map<string, MerchantRuntime>();
    // Stored merchants first, so the environment's merchant wins a clash (createMerchant refuses one).
    for (const m of [...stored, this.#default]) byMidTid.set(`${m.profile.mid}\u0000${m.profile.tid}`, m);
    this.#byMidTid = byMidTid;
  }

  #open(row: MerchantRow): MerchantProfile | undefined {
    const box = this.#options.box;
    if (!box) {
      this.#options.log?.error({ merchantId: row.id }, 'merchant not loaded: GATEWAY_SECRET_KEY is unset, its secrets cannot be decrypted');
      return undefined;
    }
    try {
      return profileFromRow(row, parseSecrets(box.open(row.secrets)), this.#options.config.umsNotifyUrl);
    } catch (err) {
      this.#options.log?.error({ merchantId: row.id, err: errorSummary(err) }, 'merchant not loaded: its secrets cannot be decrypted (check GATEWAY_SECRET_KEY)');
      return undefined;
    }
  }

  /** The rotation's second step: every box sealed with GATEWAY_SECRET_KEY_PREVIOUS is sealed again with the current key. */
  async #resealOldBoxes(): Promise<void> {
    const box = this.#options.box;
    if (!box) return;
    let rows: MerchantRow[];
    try {
      rows = await this.#options.store.list();
    } catch (err) {
      this.#options.log?.warn({ err: errorSummary(err) }, 'could not read merchants to re-encrypt them');
      return;
    }
    let resealed = 0;
    for (const row of rows) {
      if (!box.needsResealing(row.secrets)) continue;
      try {
        if (await this.#options.store.reseal(row.id, row.secrets, box.seal(box.open(row.secrets)))) resealed += 1;
      } catch (err) {
        this.#options.log?.error({ merchantId: row.id, err: errorSummary(err) }, 'could not re-encrypt a merchant under GATEWAY_SECRET_KEY');
      }
    }
    if (resealed > 0) this.#options.log?.info({ resealed }, 'merchant secrets re-encrypted under the current GATEWAY_SECRET_KEY');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reloader.close();
    await Promise.all([...this.#byId.values()].map((m) => m.client.close().catch(() => {})));
    if (this.#ownsDefaultClient) await this.#default.client.close().catch(() => {});
  }
}

function sameVersion(a: MerchantRow, b: MerchantRow): boolean {
  return a.updatedAt.getTime() === b.updatedAt.getTime() && a.secrets === b.secrets && a.enabled === b.enabled;
}

function clientFor(profile: MerchantProfile, options: MerchantRegistryOptions['clientOptions']): UmsClient {
  return new UmsClient({ ...options, appId: profile.appId, appKey: profile.appKey, authMode: profile.authMode });
}

function runtimeOf(profile: MerchantProfile, client: UmsClient): MerchantRuntime {
  return {
    id: profile.id,
    profile,
    enabled: profile.enabled,
    sourceId: profile.sourceId,
    client,
    ums: new UmsOperations(client, { mid: profile.mid, tid: profile.tid, notifyUrl: profile.notifyUrl, sourceId: profile.sourceId }),
    notifyKeys: profile.notifyKeys.map((k) => k.reveal()),
  };
}
