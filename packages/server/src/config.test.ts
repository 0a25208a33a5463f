import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it, expect } from 'vitest';
import { ConfigError, DEFAULT_PROXY_TIMEOUT_MS, DEFAULT_RATE_LIMITS, loadConfig } from './config.ts';

const cwd = join(tmpdir(), 'gatehouse-config-test-cwd');
const keys = () => `k1:${randomBytes(32).toString('base64')}`;

/** The ConfigError loadConfig throws for env (fails the test if it loads). */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env, cwd);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has development defaults', () => {
    const config = loadConfig({}, cwd);
    expect(config).toEqual({
      mode: 'development',
      port: 4000,
      host: '127.0.0.1',
      baseUrl: 'http://localhost:4000',
      database: { kind: 'sqlite', path: resolve(cwd, 'data/gatehouse.db') },
      dataDir: resolve(cwd, 'data'),
      secretKeys: undefined,
      providersDir: undefined,
      allowInsecureUpstreams: true,
      logLevel: 'info',
      trustProxy: false,
      rateLimits: DEFAULT_RATE_LIMITS,
      metricsToken: undefined,
      sandboxUrl: 'http://localhost:4001',
      requestTimeoutMs: 30_000,
      refresher: { intervalMs: 60_000, keepAliveMs: 30 * 24 * 3600 * 1000, batchSize: 20 },
      webhookPollMs: 1000,
      upstreamTimeoutMs: 15_000,
      proxyTimeoutMs: DEFAULT_PROXY_TIMEOUT_MS,
    });
  });

  it('places the sandbox provider with GATEHOUSE_SANDBOX_URL in development, or hides it with off', () => {
    expect(loadConfig({ GATEHOUSE_SANDBOX_URL: 'http://127.0.0.1:5001/' }, cwd).sandboxUrl).toBe('http://127.0.0.1:5001');
    expect(loadConfig({ GATEHOUSE_SANDBOX_URL: 'off' }, cwd).sandboxUrl).toBeUndefined();
    for (const bad of ['localhost:4001', 'ftp://x', 'http://x/?a=1']) expect(configError({ GATEHOUSE_SANDBOX_URL: bad }).variable).toBe('GATEHOUSE_SANDBOX_URL');
  });

  it('reads the refresher and webhook settings, refusing what is not a count', () => {
    const config = loadConfig({ GATEHOUSE_REFRESH_INTERVAL_SECONDS: '0', GATEHOUSE_REFRESH_KEEPALIVE_DAYS: '7', GATEHOUSE_REFRESH_BATCH: '5', GATEHOUSE_WEBHOOK_POLL_MS: '250' }, '/srv');
    expect(config.refresher).toEqual({ intervalMs: 0, keepAliveMs: 7 * 24 * 3600 * 1000, batchSize: 5 });
    expect(config.webhookPollMs).toBe(250);
    expect(() => loadConfig({ GATEHOUSE_REFRESH_INTERVAL_SECONDS: '1m' }, '/srv')).toThrow(/GATEHOUSE_REFRESH_INTERVAL_SECONDS/);
    expect(() => loadConfig({ GATEHOUSE_REFRESH_BATCH: '0' }, '/srv')).toThrow(/GATEHOUSE_REFRESH_BATCH: "0" must be a whole number from 1 to 1000/);
  });

  it('reads the variables it is given', () => {
    const config = loadConfig(
      {
        PORT: '8080',
        HOST: '0.0.0.0',
        GATEHOUSE_BASE_URL: 'https://auth.example.com/gatehouse//',
        GATEHOUSE_DATABASE_URL: 'sqlite:/var/lib/gatehouse/g.db',
        GATEHOUSE_DATA_DIR: 'state',
        GATEHOUSE_PROVIDERS_DIR: 'providers',
        GATEHOUSE_LOG_LEVEL: 'debug',
        GATEHOUSE_TRUST_PROXY: 'true',
        GATEHOUSE_SECRET_KEYS: '  k1:abc  ',
        GATEHOUSE_PROXY_TIMEOUT_MS: '2500',
      },
      cwd,
    );
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.baseUrl).toBe('https://auth.example.com/gatehouse');
    expect(config.database).toEqual({ kind: 'sqlite', path: '/var/lib/gatehouse/g.db' });
    expect(config.dataDir).toBe(resolve(cwd, 'state'));
    expect(config.providersDir).toBe(resolve(cwd, 'providers'));
    expect(config.logLevel).toBe('debug');
    expect(config.trustProxy).toBe(true);
    expect(config.secretKeys).toBe('k1:abc');
    expect(config.proxyTimeoutMs).toBe(2500);
    expect(loadConfig({ PORT: '5000' }, cwd).baseUrl).toBe('http://localhost:5000');
    expect(loadConfig({ GATEHOUSE_DATABASE_URL: 'sqlite::memory:' }, cwd).database).toEqual({ kind: 'sqlite', path: ':memory:' });
  });

  it('accepts a PostgreSQL URL', () => {
    for (const url of ['postgres://gatehouse:pw@db.internal:5432/gatehouse', 'postgresql://localhost/gatehouse?sslmode=require']) {
      expect(loadConfig({ GATEHOUSE_DATABASE_URL: url }, cwd).database).toEqual({ kind: 'postgres', url });
    }
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['PORT', ''],
    ['GATEHOUSE_BASE_URL', 'nope'],
    ['GATEHOUSE_BASE_URL', 'ftp://example.com'],
    ['GATEHOUSE_BASE_URL', 'https://example.com/?x=1'],
    ['GATEHOUSE_DATABASE_URL', 'mysql://x'],
    ['GATEHOUSE_DATABASE_URL', 'sqlite:'],
    ['GATEHOUSE_LOG_LEVEL', 'loud'],
    ['GATEHOUSE_TRUST_PROXY', 'maybe'],
    ['GATEHOUSE_REQUEST_TIMEOUT_MS', '50'],
    ['GATEHOUSE_REQUEST_TIMEOUT_MS', '2s'],
    ['GATEHOUSE_PROXY_TIMEOUT_MS', '5s'],
    ['GATEHOUSE_PROXY_TIMEOUT_MS', '50'],
    ['GATEHOUSE_PROXY_TIMEOUT_MS', '999999999'],
  ])('refuses %s=%j with an error naming the variable', (variable, value) => {
    const err = configError({ [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
    expect(err.name).toBe('ConfigError');
  });

  describe('production', () => {
    const base = { NODE_ENV: 'production', GATEHOUSE_BASE_URL: 'https://gatehouse.example.com' };

    it('requires GATEHOUSE_SECRET_KEYS', () => {
      for (const missing of [undefined, '', '   ']) {
        const err = configError({ ...base, GATEHOUSE_SECRET_KEYS: missing });
        expect(err.variable).toBe('GATEHOUSE_SECRET_KEYS');
        expect(err.message.startsWith('GATEHOUSE_SECRET_KEYS: ')).toBe(true);
      }
    });

    it('loads with keys and an https base URL; http upstreams are not allowed', () => {
      const secretKeys = keys();
      const config = loadConfig({ ...base, GATEHOUSE_SECRET_KEYS: secretKeys }, cwd);
      expect(config.mode).toBe('production');
      expect(config.baseUrl).toBe('https://gatehouse.example.com');
      expect(config.host).toBe('0.0.0.0');
      expect(config.secretKeys).toBe(secretKeys);
      expect(config.allowInsecureUpstreams).toBe(false);
      expect(config.sandboxUrl).toBeUndefined();
    });

    it('has no sandbox provider, and refuses to be given one', () => {
      const err = configError({ ...base, GATEHOUSE_SECRET_KEYS: keys(), GATEHOUSE_SANDBOX_URL: 'http://localhost:4001' });
      expect(err.variable).toBe('GATEHOUSE_SANDBOX_URL');
    });

    it('refuses an http base URL, including the default one', () => {
      for (const baseUrl of ['http://gatehouse.example.com', undefined]) {
        const err = configError({ NODE_ENV: 'production', GATEHOUSE_SECRET_KEYS: keys(), GATEHOUSE_BASE_URL: baseUrl });
        expect(err.variable).toBe('GATEHOUSE_BASE_URL');
        expect(err.message).toMatch(/^GATEHOUSE_BASE_URL: .*https/);
      }
    });

    it('treats any other NODE_ENV as development', () => {
      for (const NODE_ENV of ['test', 'development', 'Production', undefined]) {
        const config = loadConfig({ NODE_ENV }, cwd);
        expect(config.mode).toBe('development');
        expect(config.allowInsecureUpstreams).toBe(true);
      }
    });
  });
});
