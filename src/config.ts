/**
 * The environment, read once into one typed, validated Config (README.md "Configuration").
 *
 * One zod schema describes every variable; a few rules tie variables together (live mode needs
 * credentials, production needs live mode, live mode needs https). Start-up reports every wrong or
 * missing variable at once, one line each naming the variable and what it expects. Secrets are
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
  // The communication key printed in UMS's public sandbox documentation (docs/protocol.md).
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
  /** UMS_DATA_TAG=true: every request body is wrapped as `{"data": {...}}` (the seed SDKs' needDataTag). */
  umsDataTag: boolean;
  umsNotifyKey: Secret;
  umsNotifyKeyPrevious: Secret | undefined;
  umsSourceId: string;
  umsMid: string;
  umsTid: string;
  umsNotifyUrl: string;
  apiKeys: readonly ApiKey[];
  graphqlSandbox: boolean;
  /**
   * `any`: a document's text is accepted (and the typed client's by hash); `trusted`: only the
   * typed client's documents, except for gateway-wide admin keys (src/graphql/trusted-documents.ts).
   */
  graphqlDocuments: 'any' | 'trusted';
  paymentSyncAfterMs: number;
  paymentSyncIntervalMs: number;
  umsSimPort: number;
  /**
   * Where the simulator keeps its orders (a JSON-lines file), `memory://` for nowhere; unset: beside
   * the embedded database's directory under `npm start` (sim/from-config.ts), in memory otherwise.
   */
  umsSimStateFile: string | undefined;
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
  /** Browser origins (scheme://host[:port]) allowed to call `/graphql`; empty: none. */
  corsOrigins: readonly string[];
  /** A payment reported after the gateway closed the order: `review` (flag, default) or `refund` (refund it in full). */
  latePaymentPolicy: 'review' | 'refund';
  /** `HH:MM` Beijing time at which yesterday is reconciled against UMS; undefined: off. */
  reconcileDailyAt: string | undefined;
  /** GATEWAY_SECRET_KEY: 32 bytes (base64 or hex) that encrypt merchant secrets at rest; undefined: unset. */
  gatewaySecretKey: Secret | undefined;
  /** GATEWAY_SECRET_KEY_PREVIOUS: the key being rotated away from (still opens what it sealed). */
  gatewaySecretKeyPrevious: Secret | undefined;
  /** Where people reach the gateway (PUBLIC_URL), e.g. http://192.168.1.20:4000; shown at start. */
  publicUrl: string | undefined;
  /** Where phones reach the built-in simulator (UMS_SIM_PUBLIC_URL): QR codes and pay links carry it. */
  umsSimPublicUrl: string | undefined;
  /** Serve the demo storefront at `/`: on in simulator mode, off in live mode unless DEMO_PAGE=true. */
  demoPage: boolean;
  /** Per webhook attempt: connect, headers and body within this. */
  webhookTimeoutMs: number;
  /** Delays before webhook attempts 2, 3, …; past the end a delivery is FAILED. */
  webhookRetryScheduleMs: readonly number[];
  /** WEBHOOK_ALLOW_PRIVATE=true: webhook URLs may resolve to private, loopback or link-local addresses. */
  webhookAllowPrivate: boolean;
}

/** Thrown for a bad environment: one line per wrong or missing variable, all of them at once. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

const SCOPES: readonly Scope[] = ['read', 'pay', 'refund', 'admin'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** The simulator's notification retries: 0 s, 15 s, 1 min, 5 min, 30 min, then hourly: about 24 h, as UMS. */
const DEFAULT_BACKOFF = [0, 15_000, 60_000, 300_000, 1_800_000, ...Array<number>(23).fill(3_600_000)].join(',');

/** Unset and empty both mean "use the default": `FOO=` in a .env file is not a value. */
const text = (fallback: string) =>
  z.preprocess((raw) => (raw === undefined || raw === '' ? fallback : raw), z.string());
const optionalText = () =>
  z.preprocess((raw) => (typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined), z.string().optional());

const nonEmpty = (name: string, fallback: string) => text(fallback).refine((v) => v.trim() !== '', `${name}: must not be empty`);

const integer = (fallback: string, ok: (n: number) => boolean, message: string) =>
  text(fallback).transform((raw, ctx) => {
    const n = Number(raw.trim());
    if (raw.trim() === '' || !Number.isInteger(n) || !ok(n)) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return n;
  });

const port = (name: string, fallback: string) =>
  integer(fallback, (n) => n >= 1 && n <= 65535, `${name}: expected a port number (1-65535)`);
const wholeNumber = (name: string, fallback: string) =>
  integer(fallback, (n) => n >= 0, `${name}: expected a whole number >= 0 (0 turns it off)`);
const positiveMs = (name: string, fallback: string) =>
  integer(fallback, (n) => n > 0, `${name}: expected milliseconds (a whole number > 0)`);

/** `undefined` when unset, so the default can depend on other variables (GRAPHQL_SANDBOX). */
const bool = (name: string) =>
  optionalText().transform((raw, ctx) => {
    if (raw === undefined) return undefined;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    ctx.addIssue({ code: 'custom', message: `${name}: expected true or false, got "${raw}"` });
    return z.NEVER;
  });

const oneOf = <T extends string>(name: string, values: readonly T[], fallback: T, expected: string) =>
  nonEmpty(name, fallback).transform((raw, ctx) => {
    if ((values as readonly string[]).includes(raw)) return raw as T;
    ctx.addIssue({ code: 'custom', message: `${name}: expected ${expected}, got "${raw}"` });
    return z.NEVER;
  });

const httpUrl = (name: string, example: string) =>
  optionalText().refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), `${name}: expected an http(s) URL${example}`);

const apiKeys = optionalText().transform((raw, ctx): ApiKey[] => {
  if (raw === undefined) return [];
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message: `GATEWAY_API_KEYS: ${message}` });
    return z.NEVER;
  };
  const keys: ApiKey[] = [];
  const seen = new Set<string>();
  for (const entry of raw.split(',')) {
    const [key, scopeText] = entry.trim().split(':');
    if (!key || !scopeText) return fail('expected key:scope+scope,… (e.g. pk_web:read+pay,sk_ops:admin)');
    const scopes = scopeText.split('+').map((s) => s.trim());
    const unknown = scopes.find((s) => !SCOPES.includes(s as Scope));
    if (unknown !== undefined) return fail(`unknown scope "${unknown}" (expected read, pay, refund or admin)`);
    // Named by position, never by value: the key is a secret.
    if (seen.has(key)) return fail('the same key is listed twice (give each key one entry)');
    seen.add(key);
    keys.push({ key: new Secret(key), scopes: new Set(scopes as Scope[]) });
  }
  return keys;
});

const DEFAULT_WEBHOOK_SCHEDULE = '5000,300000,1800000,7200000,18000000,36000000,36000000';

const webhookSchedule = text(DEFAULT_WEBHOOK_SCHEDULE).transform((raw, ctx) => {
  const values = raw.split(',').map((s) => (s.trim() === '' ? NaN : Number(s.trim())));
  if (values.length > 50 || values.some((n) => !Number.isInteger(n) || n < 0)) {
    ctx.addIssue({ code: 'custom', message: 'WEBHOOK_RETRY_SCHEDULE_MS: expected comma-separated whole milliseconds (at most 50), e.g. 5000,300000' });
    return z.NEVER;
  }
  return values;
});

const backoff = text(DEFAULT_BACKOFF).transform((raw, ctx) => {
  const values = raw.split(',').map((s) => (s.trim() === '' ? NaN : Number(s.trim())));
  if (values.some((n) => !Number.isInteger(n) || n < 0)) {
    ctx.addIssue({ code: 'custom', message: 'UMS_SIM_NOTIFY_BACKOFF_MS: expected comma-separated whole milliseconds, e.g. 0,15000,60000' });
    return z.NEVER;
  }
  return values;
});

/**
 * Origins exactly as browsers send them, so a plain string comparison decides. `*` is refused:
 * a gateway-wide wildcard would let any site spend keys and client secrets its visitors hold.
 */
const origins = optionalText().transform((raw, ctx): string[] => {
  if (raw === undefined) return [];
  const entries = [...new Set(raw.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  const wrong = entries.flatMap((entry) => {
    if (entry === '*') return ['"*" is not accepted: list each origin, e.g. https://shop.example.com'];
    const origin = originOf(entry);
    if (origin === entry) return [];
    const hint = origin === undefined ? '' : ` (did you mean "${origin}"?)`;
    return [`"${entry}" is not an origin: expected scheme://host[:port] with no path, e.g. https://shop.example.com${hint}`];
  });
  if (wrong.length === 0) return entries;
  ctx.addIssue({ code: 'custom', message: `CORS_ORIGINS: ${wrong.join('; ')}` });
  return z.NEVER;
});

/** The origin an http(s) URL serializes to (lower-case, default port dropped), if it is one. */
function originOf(entry: string): string | undefined {
  try {
    const url = new URL(entry);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A 32-byte key, written as 64 hex digits or as base64 (44 characters, standard or url alphabet).
 * The value is never echoed in the message: it is a secret.
 */
const secretKey = (name: string) =>
  optionalText().refine(
    (v) => v === undefined || /^[0-9a-fA-F]{64}$/.test(v) || (/^[A-Za-z0-9+/_-]{43}=?$/.test(v) && Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64').length === 32),
    `${name}: expected 32 bytes as base64 (44 characters) or hex (64 characters), e.g. from: openssl rand -base64 32`,
  );

/** Every variable the gateway reads, each checked on its own; rules between them follow below. */
export const environmentSchema = z.object({
  HOST: nonEmpty('HOST', '127.0.0.1'),
  PORT: port('PORT', '4000'),
  NODE_ENV: text('development'),
  DATABASE_URL: optionalText().refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'DATABASE_URL: expected a postgres://… or postgresql://… URL'),
  PGLITE_DATA_DIR: nonEmpty('PGLITE_DATA_DIR', '.data/pglite'),
  UMS_BASE_URL: httpUrl('UMS_BASE_URL', ' such as https://test-api-open.chinaums.com'),
  UMS_APP_ID: nonEmpty('UMS_APP_ID', DEMO.appId),
  UMS_APP_KEY: nonEmpty('UMS_APP_KEY', DEMO.appKey),
  UMS_AUTH_MODE: oneOf('UMS_AUTH_MODE', ['body-sig', 'token'] as const, 'body-sig', 'body-sig or token'),
  UMS_NOTIFY_KEY: nonEmpty('UMS_NOTIFY_KEY', DEMO.notifyKey),
  UMS_NOTIFY_KEY_PREVIOUS: optionalText(),
  UMS_SOURCE_ID: nonEmpty('UMS_SOURCE_ID', DEMO.sourceId).refine(
    (v) => /^[0-9A-Za-z]{4}$/.test(v),
    'UMS_SOURCE_ID: expected the 4-character source number (来源编号), e.g. 3194',
  ),
  UMS_MID: nonEmpty('UMS_MID', DEMO.mid),
  UMS_TID: nonEmpty('UMS_TID', DEMO.tid),
  UMS_NOTIFY_URL: httpUrl('UMS_NOTIFY_URL', ''),
  GATEWAY_API_KEYS: apiKeys,
  GRAPHQL_SANDBOX: bool('GRAPHQL_SANDBOX'),
  GRAPHQL_DOCUMENTS: oneOf('GRAPHQL_DOCUMENTS', ['any', 'trusted'] as const, 'any', 'any or trusted'),
  PAYMENT_SYNC_AFTER_MS: positiveMs('PAYMENT_SYNC_AFTER_MS', '60000'),
  PAYMENT_SYNC_INTERVAL_MS: positiveMs('PAYMENT_SYNC_INTERVAL_MS', '15000'),
  UMS_SIM_PORT: port('UMS_SIM_PORT', '4100'),
  UMS_SIM_STATE_FILE: optionalText(),
  UMS_SIM_NOTIFY_BACKOFF_MS: backoff,
  LOG_LEVEL: oneOf('LOG_LEVEL', LOG_LEVELS, 'info', `one of ${LOG_LEVELS.join(', ')}`),
  RATE_LIMIT_PER_MINUTE: wholeNumber('RATE_LIMIT_PER_MINUTE', '600'),
  WS_MAX_CONNECTIONS_PER_CLIENT: wholeNumber('WS_MAX_CONNECTIONS_PER_CLIENT', '20'),
  RAW_NOTIFICATION_RETENTION_DAYS: wholeNumber('RAW_NOTIFICATION_RETENTION_DAYS', '90'),
  METRICS_KEY: optionalText(),
  UMS_ALLOW_HTTP: bool('UMS_ALLOW_HTTP'),
  UMS_DATA_TAG: bool('UMS_DATA_TAG'),
  CORS_ORIGINS: origins,
  LATE_PAYMENT_POLICY: oneOf('LATE_PAYMENT_POLICY', ['review', 'refund'] as const, 'review', 'review or refund'),
  RECONCILE_DAILY_AT: optionalText().refine(
    (v) => v === undefined || /^([01]\d|2[0-3]):[0-5]\d$/.test(v),
    'RECONCILE_DAILY_AT: expected HH:MM (Beijing time), e.g. 02:30',
  ),
  GATEWAY_SECRET_KEY: secretKey('GATEWAY_SECRET_KEY'),
  GATEWAY_SECRET_KEY_PREVIOUS: secretKey('GATEWAY_SECRET_KEY_PREVIOUS'),
  PUBLIC_URL: httpUrl('PUBLIC_URL', ' a phone can open, such as http://192.168.1.20:4000'),
  UMS_SIM_PUBLIC_URL: httpUrl('UMS_SIM_PUBLIC_URL', ' a phone can open, such as http://192.168.1.20:4100'),
  DEMO_PAGE: bool('DEMO_PAGE'),
  WEBHOOK_TIMEOUT_MS: positiveMs('WEBHOOK_TIMEOUT_MS', '10000'),
  WEBHOOK_RETRY_SCHEDULE_MS: webhookSchedule,
  WEBHOOK_ALLOW_PRIVATE: bool('WEBHOOK_ALLOW_PRIVATE'),
});

type Environment = z.output<typeof environmentSchema>;
type Name = keyof Environment;

/**
 * Each variable is parsed on its own, so one bad value never hides another: the rules between
 * variables still see every value that did parse. The first problem of each variable is kept.
 */
function parseEach(env: NodeJS.ProcessEnv): { values: Partial<Environment>; problems: Map<Name, string> } {
  const values: Partial<Record<Name, unknown>> = {};
  const problems = new Map<Name, string>();
  for (const [name, schema] of Object.entries(environmentSchema.shape) as [Name, z.ZodType][]) {
    const result = schema.safeParse(env[name]);
    if (result.success) values[name] = result.data;
    else problems.set(name, lineFor(name, result.error.issues[0]?.message));
  }
  return { values: values as Partial<Environment>, problems };
}

function lineFor(name: string, message: string | undefined): string {
  if (!message) return `${name}: invalid value`;
  return message.startsWith(`${name}:`) ? message : `${name}: ${message}`;
}

const LIVE_REQUIRED = ['UMS_APP_ID', 'UMS_APP_KEY', 'UMS_NOTIFY_KEY', 'UMS_SOURCE_ID', 'UMS_MID', 'UMS_TID'] as const;

/** 127.0.0.0/8, ::1 and localhost: a local fake or a test, where plain http carries nothing real. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The rules between variables: live mode's credentials, fail-closed production, https only. */
function crossChecks(env: NodeJS.ProcessEnv, values: Partial<Environment>, problems: Map<Name, string>): void {
  const add = (name: Name, line: string) => {
    if (!problems.has(name)) problems.set(name, line);
  };
  const live = values.UMS_BASE_URL !== undefined;
  if (!live && !problems.has('UMS_BASE_URL') && values.NODE_ENV === 'production') {
    // The simulator's notify key is public: production in simulator mode would take forged payments.
    add('UMS_BASE_URL', 'UMS_BASE_URL: required when NODE_ENV=production (simulator mode is for development only)');
  }
  if (!live) return;
  for (const name of LIVE_REQUIRED) {
    if (!env[name]?.trim()) add(name, `${name}: required when UMS_BASE_URL is set (live mode)`);
  }
  if (values.GATEWAY_API_KEYS?.length === 0 && !problems.has('GATEWAY_API_KEYS')) {
    add('GATEWAY_API_KEYS', 'GATEWAY_API_KEYS: required when UMS_BASE_URL is set (live mode), e.g. pk_web:read+pay,sk_ops:admin');
  }
  if (values.UMS_ALLOW_HTTP === true) return;
  for (const name of ['UMS_BASE_URL', 'UMS_NOTIFY_URL'] as const) {
    const url = values[name];
    if (url?.startsWith('http://') && !isLoopbackUrl(url)) {
      add(name, `${name}: expected https:// in live mode (http:// only on a loopback host, or with UMS_ALLOW_HTTP=true)`);
    }
  }
}

/** Reads and validates `env` (by default `process.env`); throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const { values, problems } = parseEach(env);
  const host = values.HOST ?? '127.0.0.1';
  const portNumber = values.PORT ?? 4000;
  if (values.UMS_NOTIFY_URL === undefined) values.UMS_NOTIFY_URL = `http://${host}:${portNumber}/notify/ums`;
  crossChecks(env, values, problems);
  if (problems.size > 0) {
    const order = Object.keys(environmentSchema.shape) as Name[];
    throw new ConfigError(order.flatMap((name) => problems.get(name) ?? []));
  }
  const v = values as Environment & { UMS_NOTIFY_URL: string };
  const live = v.UMS_BASE_URL !== undefined;
  return {
    port: v.PORT,
    host: v.HOST,
    nodeEnv: v.NODE_ENV,
    databaseUrl: v.DATABASE_URL ? new Secret(v.DATABASE_URL) : undefined,
    pgliteDataDir: v.PGLITE_DATA_DIR,
    umsBaseUrl: v.UMS_BASE_URL?.replace(/\/+$/, ''),
    umsAppId: v.UMS_APP_ID,
    umsAppKey: new Secret(v.UMS_APP_KEY.trim()),
    umsAuthMode: v.UMS_AUTH_MODE,
    umsDataTag: v.UMS_DATA_TAG ?? false,
    // Trimmed: a trailing newline from a secrets file would otherwise break every verification.
    umsNotifyKey: new Secret(v.UMS_NOTIFY_KEY.trim()),
    umsNotifyKeyPrevious: v.UMS_NOTIFY_KEY_PREVIOUS ? new Secret(v.UMS_NOTIFY_KEY_PREVIOUS) : undefined,
    umsSourceId: v.UMS_SOURCE_ID,
    umsMid: v.UMS_MID,
    umsTid: v.UMS_TID,
    umsNotifyUrl: v.UMS_NOTIFY_URL,
    apiKeys: v.GATEWAY_API_KEYS,
    // Sandbox and introspection show the whole schema: on by default only for the local demo.
    graphqlSandbox: v.GRAPHQL_SANDBOX ?? (!live && v.NODE_ENV !== 'production'),
    graphqlDocuments: v.GRAPHQL_DOCUMENTS,
    paymentSyncAfterMs: v.PAYMENT_SYNC_AFTER_MS,
    paymentSyncIntervalMs: v.PAYMENT_SYNC_INTERVAL_MS,
    umsSimPort: v.UMS_SIM_PORT,
    umsSimStateFile: v.UMS_SIM_STATE_FILE,
    umsSimNotifyBackoffMs: v.UMS_SIM_NOTIFY_BACKOFF_MS,
    logLevel: v.LOG_LEVEL,
    rateLimitPerMinute: v.RATE_LIMIT_PER_MINUTE,
    wsMaxConnectionsPerClient: v.WS_MAX_CONNECTIONS_PER_CLIENT,
    rawNotificationRetentionDays: v.RAW_NOTIFICATION_RETENTION_DAYS,
    metricsKey: v.METRICS_KEY ? new Secret(v.METRICS_KEY) : undefined,
    umsAllowHttp: v.UMS_ALLOW_HTTP ?? false,
    corsOrigins: v.CORS_ORIGINS,
    latePaymentPolicy: v.LATE_PAYMENT_POLICY,
    reconcileDailyAt: v.RECONCILE_DAILY_AT,
    gatewaySecretKey: v.GATEWAY_SECRET_KEY ? new Secret(v.GATEWAY_SECRET_KEY) : undefined,
    gatewaySecretKeyPrevious: v.GATEWAY_SECRET_KEY_PREVIOUS ? new Secret(v.GATEWAY_SECRET_KEY_PREVIOUS) : undefined,
    publicUrl: v.PUBLIC_URL?.replace(/\/+$/, ''),
    umsSimPublicUrl: v.UMS_SIM_PUBLIC_URL?.replace(/\/+$/, ''),
    // The demo page creates payments with no key of its own: only where that is harmless by default.
    demoPage: v.DEMO_PAGE ?? !live,
    webhookTimeoutMs: v.WEBHOOK_TIMEOUT_MS,
    webhookRetryScheduleMs: v.WEBHOOK_RETRY_SCHEDULE_MS,
    webhookAllowPrivate: v.WEBHOOK_ALLOW_PRIVATE ?? false,
  };
}
