/**
 * Merchant administration (CONTRACT.md "Merchants"): list, read, create, replace. Checks every
 * field first (a specific error per field, nothing stored), seals the secrets into one box, and
 * stores; the registry of this instance reloads at once, the others on the notification.
 *
 * Secrets (appKey, notifyKey, notifyKeyPrevious) are write-only: a MerchantView has none, and no
 * error message or log line here ever carries one.
 */
import type { MerchantRow } from '../db/schema.js';
import type { Logger } from '../log.js';
import { DEFAULT_MERCHANT_ID, isMerchantId } from './ids.js';
import { MERCHANT_AUTH_MODES, publicFields, type MerchantAuthMode, type MerchantProfile, type MerchantSecrets } from './profile.js';
import type { MerchantRegistry } from './registry.js';
import type { SecretBox } from './secret-box.js';
import { MerchantConflict, type MerchantStore, type MerchantValues } from './store.js';

/** What anyone may read of a merchant: everything but its secrets. */
export interface MerchantView {
  id: string;
  name: string | null;
  mid: string;
  tid: string;
  sourceId: string;
  instMid: string | null;
  appId: string;
  authMode: MerchantAuthMode;
  enabled: boolean;
  notifyUrl: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface MerchantInput {
  id: string;
  name?: string | null | undefined;
  mid: string;
  tid: string;
  sourceId: string;
  instMid?: string | null | undefined;
  appId: string;
  appKey: string;
  notifyKey: string;
  notifyKeyPrevious?: string | null | undefined;
  authMode?: string | null | undefined;
  enabled?: boolean | null | undefined;
}

export type MerchantAdminErrorCode = 'BAD_USER_INPUT' | 'CONFLICT' | 'NOT_FOUND' | 'SECRET_KEY_MISSING';

/** Why a merchant was not stored; `code` becomes the GraphQL `extensions.code`. */
export class MerchantAdminError extends Error {
  override name = 'MerchantAdminError';
  constructor(
    readonly code: MerchantAdminErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The institution codes of PROTOCOL.md §5.2. */
export const INST_MIDS = ['MINIDEFAULT', 'YUEDANDEFAULT', 'H5DEFAULT', 'APPDEFAULT', 'QRPAYDEFAULT'] as const;

const RULES = {
  // PROTOCOL.md §5.1: mid 8..32, tid 2..32 (one SDK's field notes); letters and digits.
  mid: { pattern: /^[0-9A-Za-z]{8,32}$/, rule: '8 to 32 letters or digits (the UMS merchant number, e.g. 898201612345678)' },
  tid: { pattern: /^[0-9A-Za-z]{2,32}$/, rule: '2 to 32 letters or digits (the UMS terminal number, e.g. 88880001)' },
  sourceId: { pattern: /^[0-9A-Za-z]{4}$/, rule: 'the 4-character source number (来源编号), e.g. 3194' },
  appId: { pattern: /^[0-9A-Za-z_-]{1,64}$/, rule: '1 to 64 letters, digits, _ or -' },
} as const;
const MAX_NAME = 200;
const MAX_SECRET = 256;

export interface MerchantAdminOptions {
  store: MerchantStore;
  registry: MerchantRegistry;
  /** Undefined: GATEWAY_SECRET_KEY is unset in live mode; nothing can be stored. */
  box: SecretBox | undefined;
  umsNotifyUrl: string;
  log?: Logger;
}

export class MerchantAdmin {
  constructor(private readonly options: MerchantAdminOptions) {}

  /** `default` first (from the environment), then the stored merchants by id. */
  async list(): Promise<MerchantView[]> {
    const rows = await this.options.store.list();
    return [this.#defaultView(), ...rows.filter((r) => r.id !== DEFAULT_MERCHANT_ID).map((r) => this.#view(r))];
  }

  async get(id: string): Promise<MerchantView | undefined> {
    if (id === DEFAULT_MERCHANT_ID) return this.#defaultView();
    if (!isMerchantId(id)) return undefined;
    const row = await this.options.store.get(id);
    return row ? this.#view(row) : undefined;
  }

  async create(input: MerchantInput): Promise<MerchantView> {
    const values = this.#values(input);
    try {
      const row = await this.options.store.create(values);
      await this.options.registry.reload();
      this.options.log?.info({ merchantId: row.id, mid: row.mid, tid: row.tid }, 'merchant created');
      return this.#view(row);
    } catch (err) {
      throw conflictOrRethrow(err);
    }
  }

  /** Replaces merchant `id` with `input` (whose id must be the same). */
  async update(id: string, input: MerchantInput): Promise<MerchantView> {
    if (input.id !== id) throw new MerchantAdminError('BAD_USER_INPUT', `input.id (${input.id}) must be the id of the merchant updated (${id})`, 'id');
    const values = this.#values(input);
    let row: MerchantRow | undefined;
    try {
      row = await this.options.store.replace(values);
    } catch (err) {
      throw conflictOrRethrow(err);
    }
    if (!row) throw new MerchantAdminError('NOT_FOUND', `no merchant with id ${id}`, 'id');
    await this.options.registry.reload();
    this.options.log?.info({ merchantId: row.id, mid: row.mid, tid: row.tid, enabled: row.enabled }, 'merchant updated');
    return this.#view(row);
  }

  /** Every check, then the sealed values; throws MerchantAdminError, having stored nothing. */
  #values(input: MerchantInput): MerchantValues {
    const bad = (field: string, message: string) => new MerchantAdminError('BAD_USER_INPUT', `${field}: ${message}`, field);
    if (input.id === DEFAULT_MERCHANT_ID) {
      throw bad('id', 'the merchant "default" is the UMS_* environment variables; it cannot be created or updated here');
    }
    if (!isMerchantId(input.id)) throw bad('id', 'expected 1 to 32 of a-z, 0-9, _ and -');
    if (input.name != null && input.name.length > MAX_NAME) throw bad('name', `at most ${MAX_NAME} characters`);
    for (const field of ['mid', 'tid', 'sourceId', 'appId'] as const) {
      if (!RULES[field].pattern.test(input[field])) throw bad(field, `expected ${RULES[field].rule}`);
    }
    if (input.instMid != null && !(INST_MIDS as readonly string[]).includes(input.instMid)) throw bad('instMid', `expected one of ${INST_MIDS.join(', ')}`);
    const authMode = input.authMode ?? 'body-sig';
    if (!(MERCHANT_AUTH_MODES as readonly string[]).includes(authMode)) throw bad('authMode', 'expected body-sig or token');
    // Named, never echoed: these are secrets.
    for (const field of ['appKey', 'notifyKey', 'notifyKeyPrevious'] as const) {
      const value = input[field];
      if (value == null) {
        if (field !== 'notifyKeyPrevious') throw bad(field, 'required');
        continue;
      }
      if (value.trim() === '' || value.length > MAX_SECRET || /[\s\u0000-\u001f]/.test(value)) {
        throw bad(field, `expected 1 to ${MAX_SECRET} characters with no spaces or control characters`);
      }
    }
    const env = this.options.registry.defaultMerchant.profile;
    if (input.mid === env.mid && input.tid === env.tid) {
      throw new MerchantAdminError('CONFLICT', `mid ${input.mid} and tid ${input.tid} are the default merchant's (UMS_MID/UMS_TID)`, 'mid');
    }
    const box = this.options.box;
    if (!box) {
      throw new MerchantAdminError('SECRET_KEY_MISSING', 'GATEWAY_SECRET_KEY is not set: merchant secrets cannot be encrypted, so no merchant can be stored (set it to 32 random bytes, base64 or hex, and restart)');
    }
    const secrets: MerchantSecrets = {
      appKey: input.appKey,
      notifyKey: input.notifyKey,
      ...(input.notifyKeyPrevious != null ? { notifyKeyPrevious: input.notifyKeyPrevious } : {}),
    };
    return {
      id: input.id,
      name: input.name ?? null,
      mid: input.mid,
      tid: input.tid,
      sourceId: input.sourceId,
      instMid: input.instMid ?? null,
      appId: input.appId,
      authMode,
      enabled: input.enabled ?? true,
      secrets: box.seal(JSON.stringify(secrets)),
    };
  }

  #view(row: MerchantRow): MerchantView {
    return publicFields(row, this.options.umsNotifyUrl);
  }

  #defaultView(): MerchantView {
    const p: MerchantProfile = this.options.registry.defaultMerchant.profile;
    return {
      id: p.id,
      name: p.name,
      mid: p.mid,
      tid: p.tid,
      sourceId: p.sourceId,
      instMid: p.instMid,
      appId: p.appId,
      authMode: p.authMode,
      enabled: p.enabled,
      notifyUrl: p.notifyUrl,
      createdAt: p.createdAt,
      updatedAt: p.updatedAt,
    };
  }
}

function conflictOrRethrow(err: unknown): unknown {
  if (err instanceof MerchantConflict) return new MerchantAdminError('CONFLICT', err.message, err.field === 'id' ? 'id' : 'mid');
  return err;
}
