/**
 * A merchant profile: what the gateway needs to act for one UMS merchant. The environment's UMS_*
 * values are the profile `default`; the others come from the `merchants` table, their secrets
 * opened from the secret box into memory only (each a `Secret`, which never prints).
 */
import { Secret, type Config } from '../config.js';
import type { MerchantRow } from '../db/schema.js';
import { DEFAULT_MERCHANT_ID } from './ids.js';

export type MerchantAuthMode = 'body-sig' | 'token';
export const MERCHANT_AUTH_MODES: readonly MerchantAuthMode[] = ['body-sig', 'token'];

export interface MerchantProfile {
  readonly id: string;
  readonly name: string | null;
  readonly mid: string;
  readonly tid: string;
  readonly sourceId: string;
  readonly instMid: string | null;
  readonly appId: string;
  readonly authMode: MerchantAuthMode;
  readonly enabled: boolean;
  readonly appKey: Secret;
  /** The communication keys that verify notifications: current first, then the previous one. */
  readonly notifyKeys: readonly Secret[];
  /** Where UMS posts this merchant's notifications (the notifyUrl of its orders). */
  readonly notifyUrl: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What the secret box holds for a stored merchant (JSON, sealed as one box). */
export interface MerchantSecrets {
  appKey: string;
  notifyKey: string;
  notifyKeyPrevious?: string;
}

/**
 * The notify URL of a created merchant: UMS_NOTIFY_URL (its query dropped) plus `/<merchantId>`,
 * i.e. `<base>/notify/ums/<id>` for the default `…/notify/ums`. A proxy in front of the gateway
 * that forwards UMS_NOTIFY_URL must forward the paths below it too.
 */
export function merchantNotifyUrl(umsNotifyUrl: string, merchantId: string): string {
  const base = umsNotifyUrl.replace(/[?#].*$/, '').replace(/\/+$/, '');
  return `${base}/${encodeURIComponent(merchantId)}`;
}

export type DefaultProfileConfig = Pick<
  Config,
  'umsMid' | 'umsTid' | 'umsSourceId' | 'umsAppId' | 'umsAppKey' | 'umsAuthMode' | 'umsNotifyKey' | 'umsNotifyKeyPrevious' | 'umsNotifyUrl'
>;

/** The environment's merchant. `since`: when this process read it (its createdAt). */
export function defaultProfile(config: DefaultProfileConfig, since: Date = new Date()): MerchantProfile {
  return {
    id: DEFAULT_MERCHANT_ID,
    name: null,
    mid: config.umsMid,
    tid: config.umsTid,
    sourceId: config.umsSourceId,
    instMid: null,
    appId: config.umsAppId,
    authMode: config.umsAuthMode,
    enabled: true,
    appKey: config.umsAppKey,
    notifyKeys: config.umsNotifyKeyPrevious ? [config.umsNotifyKey, config.umsNotifyKeyPrevious] : [config.umsNotifyKey],
    notifyUrl: config.umsNotifyUrl,
    createdAt: since,
    updatedAt: since,
  };
}

/** A stored merchant with its opened secrets. */
export function profileFromRow(row: MerchantRow, secrets: MerchantSecrets, umsNotifyUrl: string): MerchantProfile {
  return {
    ...publicFields(row, umsNotifyUrl),
    appKey: new Secret(secrets.appKey),
    notifyKeys: secrets.notifyKeyPrevious ? [new Secret(secrets.notifyKey), new Secret(secrets.notifyKeyPrevious)] : [new Secret(secrets.notifyKey)],
  };
}

/** What a stored merchant shows to anyone (no secret): its profile's public part, and the admin's view. */
export function publicFields(row: MerchantRow, umsNotifyUrl: string) {
  return {
    id: row.id,
    name: row.name,
    mid: row.mid,
    tid: row.tid,
    sourceId: row.sourceId,
    instMid: row.instMid,
    appId: row.appId,
    authMode: (row.authMode === 'token' ? 'token' : 'body-sig') as MerchantAuthMode,
    enabled: row.enabled,
    notifyUrl: merchantNotifyUrl(umsNotifyUrl, row.id),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Reads an opened box; anything but the expected shape is an error (never echoing the content). */
export function parseSecrets(text: string): MerchantSecrets {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('merchant secrets: not JSON');
  }
  const v = value as Partial<Record<keyof MerchantSecrets, unknown>>;
  if (typeof v?.appKey !== 'string' || typeof v.notifyKey !== 'string' || (v.notifyKeyPrevious !== undefined && typeof v.notifyKeyPrevious !== 'string')) {
    throw new Error('merchant secrets: unexpected shape');
  }
  return { appKey: v.appKey, notifyKey: v.notifyKey, ...(v.notifyKeyPrevious !== undefined ? { notifyKeyPrevious: v.notifyKeyPrevious } : {}) };
}
