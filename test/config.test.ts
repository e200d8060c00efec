import { execFile } from 'node:child_process';
import { inspect, promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEMO, loadConfig } from '../src/config.js';

const run = promisify(execFile);

/** Loads a config and returns the one line a bad value produces (or undefined). */
function errorOf(env: NodeJS.ProcessEnv): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

const LIVE = {
  UMS_BASE_URL: 'https://test-api-open.chinaums.com/',
  UMS_APP_ID: 'live-app',
  UMS_APP_KEY: 'live-app-key-0123456789',
  UMS_NOTIFY_KEY: 'live-notify-key-0123456789',
  UMS_SOURCE_ID: '1A2B',
  UMS_MID: '898310060514001',
  UMS_TID: '00000001',
  GATEWAY_API_KEYS: 'pk_web:read+pay,sk_ops:admin',
};

describe('config', () => {
  it('starts with no configuration at all: simulator mode, PGlite, demo credentials', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      pgliteDataDir: '.data/pglite',
      umsBaseUrl: undefined,
      umsAppId: DEMO.appId,
      umsAuthMode: 'body-sig',
      umsSourceId: '3194',
      umsNotifyUrl: 'http://127.0.0.1:4000/notify/ums',
      apiKeys: [],
      graphqlSandbox: true,
      paymentSyncAfterMs: 60_000,
      paymentSyncIntervalMs: 15_000,
      umsSimPort: 4100,
      umsSimStateFile: undefined,
      umsSimNotifyBackoffMs: [0, 15_000, 60_000, 300_000, 1_800_000, ...Array<number>(23).fill(3_600_000)],
      logLevel: 'info',
    });
    expect(c.umsAppKey.reveal()).toBe(DEMO.appKey);
    expect(c.umsNotifyKey.reveal()).toBe(DEMO.notifyKey);
  });

  it('reads live mode, trims the base URL and the keys', () => {
    const c = loadConfig({ ...LIVE, UMS_NOTIFY_KEY_PREVIOUS: 'old-key\n', UMS_AUTH_MODE: 'token', NODE_ENV: 'production' });
    expect(c.umsBaseUrl).toBe('https://test-api-open.chinaums.com');
    expect(c.umsNotifyKeyPrevious?.reveal()).toBe('old-key');
    expect(c.umsAuthMode).toBe('token');
    expect(c.graphqlSandbox).toBe(false);
    expect(c.apiKeys.map((k) => [k.key.reveal(), [...k.scopes]])).toEqual([
      ['pk_web', ['read', 'pay']],
      ['sk_ops', ['admin']],
    ]);
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT: expected a port number/],
    [{ PORT: '70000' }, /^PORT: expected a port number/],
    [{ UMS_SIM_PORT: '-1' }, /^UMS_SIM_PORT: expected a port number/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: expected a postgres/],
    [{ UMS_BASE_URL: 'test-api-open.chinaums.com' }, /^UMS_BASE_URL: expected an http\(s\) URL/],
    [{ UMS_AUTH_MODE: 'oauth' }, /^UMS_AUTH_MODE: expected body-sig or token, got "oauth"/],
    [{ UMS_SOURCE_ID: '31945' }, /^UMS_SOURCE_ID: expected the 4-character source number/],
    [{ UMS_NOTIFY_URL: 'ftp://x' }, /^UMS_NOTIFY_URL: expected an http\(s\) URL/],
    [{ GATEWAY_API_KEYS: 'pk_web' }, /^GATEWAY_API_KEYS: expected key:scope\+scope/],
    [{ GATEWAY_API_KEYS: 'pk_web:read+steal' }, /^GATEWAY_API_KEYS: unknown scope "steal"/],
    [{ GATEWAY_API_KEYS: 'pk_web:read,pk_web:admin' }, /^GATEWAY_API_KEYS: the same key is listed twice/],
    [{ GRAPHQL_SANDBOX: 'maybe' }, /^GRAPHQL_SANDBOX: expected true or false/],
    [{ PAYMENT_SYNC_AFTER_MS: '0' }, /^PAYMENT_SYNC_AFTER_MS: expected milliseconds/],
    [{ PAYMENT_SYNC_INTERVAL_MS: '1.5' }, /^PAYMENT_SYNC_INTERVAL_MS: expected milliseconds/],
    [{ UMS_SIM_NOTIFY_BACKOFF_MS: '0,soon' }, /^UMS_SIM_NOTIFY_BACKOFF_MS: expected comma-separated/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: expected one of/],
  ])('refuses %o with one line naming the variable', (env, message) => {
    const line = errorOf(env);
    expect(line).toMatch(message);
    expect(line).not.toContain('\n');
  });

  it('live mode refuses to start without credentials or API keys, naming what is missing', () => {
    for (const name of ['UMS_APP_ID', 'UMS_APP_KEY', 'UMS_NOTIFY_KEY', 'UMS_SOURCE_ID', 'UMS_MID', 'UMS_TID'] as const) {
      expect(errorOf({ ...LIVE, [name]: '' })).toBe(`${name}: required when UMS_BASE_URL is set (live mode)`);
    }
    expect(errorOf({ ...LIVE, GATEWAY_API_KEYS: '' })).toMatch(/^GATEWAY_API_KEYS: required when UMS_BASE_URL is set/);
  });

  it('reports every wrong or missing variable at once, one line each, in a stable order', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud', UMS_AUTH_MODE: 'oauth' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'PORT: expected a port number (1-65535)',
      'UMS_AUTH_MODE: expected body-sig or token, got "oauth"',
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
    // Live mode's missing credentials come in the same report as a bad value elsewhere.
    const { UMS_MID: _mid, UMS_TID: _tid, ...partial } = LIVE;
    let live: unknown;
    try {
      loadConfig({ ...partial, PAYMENT_SYNC_AFTER_MS: '0' });
    } catch (err) {
      live = err;
    }
    expect((live as ConfigError).problems).toEqual([
      'UMS_MID: required when UMS_BASE_URL is set (live mode)',
      'UMS_TID: required when UMS_BASE_URL is set (live mode)',
      'PAYMENT_SYNC_AFTER_MS: expected milliseconds (a whole number > 0)',
    ]);
  });

  it('fails closed: production needs live mode, live mode needs https except on loopback', () => {
    expect(errorOf({ NODE_ENV: 'production' })).toBe(
      'UMS_BASE_URL: required when NODE_ENV=production (simulator mode is for development only)',
    );
    expect(loadConfig({ ...LIVE, NODE_ENV: 'production' }).umsBaseUrl).toBe('https://test-api-open.chinaums.com');

    const plain = { ...LIVE, UMS_BASE_URL: 'http://ums.example.com', UMS_NOTIFY_URL: 'http://gw.example.com/notify/ums' };
    expect(errorOf(plain)?.split('\n')).toEqual([
      'UMS_BASE_URL: expected https:// in live mode (http:// only on a loopback host, or with UMS_ALLOW_HTTP=true)',
      'UMS_NOTIFY_URL: expected https:// in live mode (http:// only on a loopback host, or with UMS_ALLOW_HTTP=true)',
    ]);
    expect(loadConfig({ ...plain, UMS_ALLOW_HTTP: 'true' }).umsAllowHttp).toBe(true);
    for (const host of ['127.0.0.1:4100', '127.9.8.7', 'localhost:4100', '[::1]:4100']) {
      expect(loadConfig({ ...LIVE, UMS_BASE_URL: `http://${host}`, UMS_NOTIFY_URL: `http://${host}/notify/ums` }).umsBaseUrl).toBe(`http://${host}`);
    }
    // Not loopback, however it looks.
    expect(errorOf({ ...LIVE, UMS_BASE_URL: 'http://127.0.0.1.example.com' })).toMatch(/^UMS_BASE_URL: expected https/);
    // Simulator mode talks to its own simulator over loopback http: nothing to refuse.
    expect(loadConfig({ UMS_NOTIFY_URL: 'http://gw.example.com/notify/ums' }).umsNotifyUrl).toBe('http://gw.example.com/notify/ums');
  });

  it('reads the operator settings: LATE_PAYMENT_POLICY and RECONCILE_DAILY_AT (HH:MM)', () => {
    expect(loadConfig({})).toMatchObject({ latePaymentPolicy: 'review', reconcileDailyAt: undefined });
    expect(loadConfig({ LATE_PAYMENT_POLICY: 'refund', RECONCILE_DAILY_AT: '02:30' })).toMatchObject({ latePaymentPolicy: 'refund', reconcileDailyAt: '02:30' });
    expect(errorOf({ LATE_PAYMENT_POLICY: 'auto' })).toBe('LATE_PAYMENT_POLICY: expected review or refund, got "auto"');
    for (const at of ['2:30', '24:00', '02:60', '0230', 'noon']) expect(errorOf({ RECONCILE_DAILY_AT: at })).toMatch(/^RECONCILE_DAILY_AT: expected HH:MM/);
  });

  it('turns the Sandbox on by default only in simulator mode outside production', () => {
    expect(loadConfig({}).graphqlSandbox).toBe(true);
    expect(loadConfig(LIVE).graphqlSandbox).toBe(false);
    expect(loadConfig({ ...LIVE, NODE_ENV: 'production' }).graphqlSandbox).toBe(false);
    expect(loadConfig({ ...LIVE, GRAPHQL_SANDBOX: 'true' }).graphqlSandbox).toBe(true);
    expect(loadConfig({ GRAPHQL_SANDBOX: 'false' }).graphqlSandbox).toBe(false);
  });

  it('never shows a secret, however the config is printed', () => {
    const c = loadConfig({ ...LIVE, DATABASE_URL: 'postgres://user:db-password@db/x', UMS_NOTIFY_KEY_PREVIOUS: 'previous-secret' });
    const printed = [JSON.stringify(c), inspect(c, { depth: 10 }), String(c.umsAppKey), `${c.umsNotifyKey}`].join('\n');
    for (const secret of [LIVE.UMS_APP_KEY, LIVE.UMS_NOTIFY_KEY, 'previous-secret', 'db-password', 'sk_ops', 'pk_web']) {
      expect(printed).not.toContain(secret);
    }
    expect(printed).toContain('[redacted]');
  });

  it('a bad value stops the process with one line on stderr and exit code 1', async () => {
    const child = run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: 'abc', UMS_APP_KEY: 'must-not-print' },
      encoding: 'utf8',
    });
    const failure = (await child.then(
      () => undefined,
      (err: unknown) => err,
    )) as { code: number; stderr: string; stdout: string } | undefined;
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim()).toBe('configuration error: PORT: expected a port number (1-65535)');
    expect(failure?.stdout).toBe('');
  });

  it('several bad values stop the process with one line each on stderr and exit code 1', async () => {
    const failure = (await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: 'abc', GRAPHQL_SANDBOX: 'maybe', NODE_ENV: 'production', UMS_APP_KEY: 'must-not-print' },
      encoding: 'utf8',
    }).then(
      () => undefined,
      (err: unknown) => err,
    )) as { code: number; stderr: string; stdout: string } | undefined;
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim().split('\n')).toEqual([
      'configuration error: PORT: expected a port number (1-65535)',
      'configuration error: UMS_BASE_URL: required when NODE_ENV=production (simulator mode is for development only)',
      'configuration error: GRAPHQL_SANDBOX: expected true or false, got "maybe"',
    ]);
    expect(failure?.stderr).not.toContain('must-not-print');
    expect(failure?.stdout).toBe('');
  });
});
