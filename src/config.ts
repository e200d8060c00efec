/**
 * The environment, read once into one typed, validated Config (CONTRACT.md "Configuration").
 *
 * A wrong value stops start-up with one line naming the variable and what it expects. Secrets are
 * wrapped in `Secret`, whose every string form is `[redacted]`, so printing or logging the config
 * can never show them; code that needs the value calls `.reveal()`.
 */
import { z } from 'zod';

/** A value that refuses to be printed. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[redacted]';
  }
}

/** The simulator's demo credentials: what `npm start` and `npm run sim` agree on with no set-up. */
export const DEMO = {
  appId: '10037e6f6a4e6da4016a62a47e51018c',
  appKey: '1c4e3b16066244ae9b236a09e5b312e8',
  // The communication key printed in UMS's public sandbox documentation (PROTOCOL.md vectors).
  notifyKey: 'fcAmtnx7MwismjWNhNKdHC44mNXtnEQeJkRrhKJwyrW2ysRR',
  sourceId: '3194',
  mid: '898201612345678',
  tid: '88880001',
} as const;

export type Scope = 'read' | 'pay' | 'refund' | 'admin';
export interface ApiKey {
  key: Secret;
  scopes: ReadonlySet<Scope>;
}

export interface Config {
  port: number;
  host: string;
  nodeEnv: string;
  /** `undefined`: embedded PGlite. */
  databaseUrl: Secret | undefined;
  pgliteDataDir: string;
  /** `undefined`: the built-in simulator. */
  umsBaseUrl: string | undefined;
  umsAppId: string;
  umsAppKey: Secret;
  umsAuthMode: 'body-sig' | 'token';
  umsNotifyKey: Secret;
  umsNotifyKeyPrevious: Secret | undefined;
  umsSourceId: string;
  umsMid: string;
  umsTid: string;
  umsNotifyUrl: string;
  apiKeys: readonly ApiKey[];
  graphqlSandbox: boolean;
  paymentSyncAfterMs: number;
  paymentSyncIntervalMs: number;
  umsSimPort: number;
  umsSimNotifyBackoffMs: readonly number[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** GraphQL operations (root fields) per minute per key/secret/address; 0: off. */
  rateLimitPerMinute: number;
  /** Open subscription WebSockets per key/secret/address; 0: off. */
  wsMaxConnectionsPerClient: number;
  /** After this many days stored notification bodies keep only the fields the ledger uses. */
  rawNotificationRetentionDays: number;
  /** When set, `/metrics` answers only `Authorization: Bearer <METRICS_KEY>`. */
  metricsKey: Secret | undefined;
  /** UMS_ALLOW_HTTP=true: live mode takes http:// UMS and notify URLs on any host. */
  umsAllowHttp: boolean;
}

/** Thrown for a bad environment; its message is the one line that start-up prints. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const port = (what: string) =>
  z.coerce.number({ message: `${what}: expected a port number (1-65535)` }).int(`${what}: expected a port number (1-65535)`).min(1, `${what}: expected a port number (1-65535)`).max(65535, `${what}: expected a port number (1-65535)`);

const wholeNumber = (what: string) =>
  z.coerce.number({ message: `${what}: expected a whole number >= 0 (0 turns it off)` }).int(`${what}: expected a whole number >= 0 (0 turns it off)`).min(0, `${what}: expected a whole number >= 0 (0 turns it off)`);

const positiveMs = (what: string) =>
  z.coerce.number({ message: `${what}: expected milliseconds (a whole number > 0)` }).int(`${what}: expected milliseconds (a whole number > 0)`).positive(`${what}: expected milliseconds (a whole number > 0)`);

const SCOPES: readonly Scope[] = ['read', 'pay', 'refund', 'admin'];

function parseApiKeys(raw: string | undefined): ApiKey[] {
  if (raw === undefined || raw.trim() === '') return [];
  const keys = raw.split(',').map((entry) => {
    const [key, scopeText] = entry.trim().split(':');
    if (!key || !scopeText) {
      throw new ConfigError('GATEWAY_API_KEYS: expected key:scope+scope,… (e.g. pk_web:read+pay,sk_ops:admin)');
    }
    const scopes = scopeText.split('+').map((s) => s.trim());
    for (const s of scopes) {
      if (!SCOPES.includes(s as Scope)) {
        throw new ConfigError(`GATEWAY_API_KEYS: unknown scope "${s}" (expected read, pay, refund or admin)`);
      }
    }
    return { key: new Secret(key), scopes: new Set(scopes as Scope[]) };
  });
  const seen = new Set<string>();
  for (const { key } of keys) {
    // Named by position, never by value: the key is a secret.
    if (seen.has(key.reveal())) throw new ConfigError('GATEWAY_API_KEYS: the same key is listed twice (give each key one entry)');
    seen.add(key.reveal());
  }
  return keys;
}

function parseBackoff(raw: string | undefined): number[] {
  const text = raw ?? '0,15000,60000,300000,1800000,3600000';
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new ConfigError('UMS_SIM_NOTIFY_BACKOFF_MS: expected comma-separated whole milliseconds, e.g. 0,15000,60000');
  }
  return values;
}

function parseBool(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name}: expected true or false, got "${raw}"`);
}

function parse<T>(name: string, schema: z.ZodType<T>, raw: string | undefined, fallback: string): T {
  const result = schema.safeParse(raw === undefined || raw === '' ? fallback : raw);
  if (!result.success) {
    const message = result.error.issues[0]?.message ?? `${name}: invalid value`;
    throw new ConfigError(message.startsWith(name) ? message : `${name}: ${message}`);
  }
  return result.data;
}

function nonEmpty(name: string, raw: string | undefined, fallback: string): string {
  const value = raw === undefined || raw === '' ? fallback : raw;
  if (value.trim() === '') throw new ConfigError(`${name}: must not be empty`);
  return value;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads and validates `env` (by default `process.env`); throws ConfigError with one line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const host = nonEmpty('HOST', env.HOST, '127.0.0.1');
  const portNumber = parse('PORT', port('PORT'), env.PORT, '4000');
  const nodeEnv = env.NODE_ENV ?? 'development';

  const databaseUrl = env.DATABASE_URL?.trim() ? env.DATABASE_URL.trim() : undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL: expected a postgres://… or postgresql://… URL');
  }

  const umsBaseUrlRaw = env.UMS_BASE_URL?.trim() ? env.UMS_BASE_URL.trim() : undefined;
  let umsBaseUrl: string | undefined;
  if (umsBaseUrlRaw) {
    if (!/^https?:\/\/[^/]+/.test(umsBaseUrlRaw)) {
      throw new ConfigError('UMS_BASE_URL: expected an http(s) URL such as https://test-api-open.chinaums.com');
    }
    umsBaseUrl = umsBaseUrlRaw.replace(/\/+$/, '');
  }
  const live = umsBaseUrl !== undefined;

  const authMode = nonEmpty('UMS_AUTH_MODE', env.UMS_AUTH_MODE, 'body-sig');
  if (authMode !== 'body-sig' && authMode !== 'token') {
    throw new ConfigError(`UMS_AUTH_MODE: expected body-sig or token, got "${authMode}"`);
  }

  const sourceId = nonEmpty('UMS_SOURCE_ID', env.UMS_SOURCE_ID, DEMO.sourceId);
  if (!/^[0-9A-Za-z]{4}$/.test(sourceId)) {
    throw new ConfigError('UMS_SOURCE_ID: expected the 4-character source number (来源编号), e.g. 3194');
  }

  const apiKeys = parseApiKeys(env.GATEWAY_API_KEYS);
  if (live) {
    for (const name of ['UMS_APP_ID', 'UMS_APP_KEY', 'UMS_NOTIFY_KEY', 'UMS_SOURCE_ID', 'UMS_MID', 'UMS_TID'] as const) {
      if (!env[name]?.trim()) throw new ConfigError(`${name}: required when UMS_BASE_URL is set (live mode)`);
    }
    if (apiKeys.length === 0) {
      throw new ConfigError('GATEWAY_API_KEYS: required when UMS_BASE_URL is set (live mode), e.g. pk_web:read+pay,sk_ops:admin');
    }
  }

  const notifyUrl = nonEmpty('UMS_NOTIFY_URL', env.UMS_NOTIFY_URL, `http://${host}:${portNumber}/notify/ums`);
  if (!/^https?:\/\//.test(notifyUrl)) throw new ConfigError('UMS_NOTIFY_URL: expected an http(s) URL');

  const logLevel = nonEmpty('LOG_LEVEL', env.LOG_LEVEL, 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  return {
    port: portNumber,
    host,
    nodeEnv,
    databaseUrl: databaseUrl ? new Secret(databaseUrl) : undefined,
    pgliteDataDir: nonEmpty('PGLITE_DATA_DIR', env.PGLITE_DATA_DIR, '.data/pglite'),
    umsBaseUrl,
    umsAppId: nonEmpty('UMS_APP_ID', env.UMS_APP_ID, DEMO.appId),
    umsAppKey: new Secret(nonEmpty('UMS_APP_KEY', env.UMS_APP_KEY, DEMO.appKey).trim()),
    umsAuthMode: authMode,
    umsNotifyKey: new Secret(nonEmpty('UMS_NOTIFY_KEY', env.UMS_NOTIFY_KEY, DEMO.notifyKey).trim()),
    // Trimmed: a trailing newline from a secrets file would otherwise break every verification.
    umsNotifyKeyPrevious: env.UMS_NOTIFY_KEY_PREVIOUS?.trim() ? new Secret(env.UMS_NOTIFY_KEY_PREVIOUS.trim()) : undefined,
    umsSourceId: sourceId,
    umsMid: nonEmpty('UMS_MID', env.UMS_MID, DEMO.mid),
    umsTid: nonEmpty('UMS_TID', env.UMS_TID, DEMO.tid),
    umsNotifyUrl: notifyUrl,
    apiKeys,
    graphqlSandbox: parseBool('GRAPHQL_SANDBOX', env.GRAPHQL_SANDBOX, nodeEnv !== 'production'),
    paymentSyncAfterMs: parse('PAYMENT_SYNC_AFTER_MS', positiveMs('PAYMENT_SYNC_AFTER_MS'), env.PAYMENT_SYNC_AFTER_MS, '60000'),
    paymentSyncIntervalMs: parse('PAYMENT_SYNC_INTERVAL_MS', positiveMs('PAYMENT_SYNC_INTERVAL_MS'), env.PAYMENT_SYNC_INTERVAL_MS, '15000'),
    umsSimPort: parse('UMS_SIM_PORT', port('UMS_SIM_PORT'), env.UMS_SIM_PORT, '4100'),
    umsSimNotifyBackoffMs: parseBackoff(env.UMS_SIM_NOTIFY_BACKOFF_MS),
    logLevel: logLevel as Config['logLevel'],
    rateLimitPerMinute: parse('RATE_LIMIT_PER_MINUTE', wholeNumber('RATE_LIMIT_PER_MINUTE'), env.RATE_LIMIT_PER_MINUTE, '600'),
    wsMaxConnectionsPerClient: parse('WS_MAX_CONNECTIONS_PER_CLIENT', wholeNumber('WS_MAX_CONNECTIONS_PER_CLIENT'), env.WS_MAX_CONNECTIONS_PER_CLIENT, '20'),
    rawNotificationRetentionDays: parse('RAW_NOTIFICATION_RETENTION_DAYS', wholeNumber('RAW_NOTIFICATION_RETENTION_DAYS'), env.RAW_NOTIFICATION_RETENTION_DAYS, '90'),
    metricsKey: env.METRICS_KEY?.trim() ? new Secret(env.METRICS_KEY.trim()) : undefined,
    umsAllowHttp: parseBool('UMS_ALLOW_HTTP', env.UMS_ALLOW_HTTP, false),
  };
}
