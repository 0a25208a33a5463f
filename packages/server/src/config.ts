import { resolve } from 'node:path';

export type Mode = 'development' | 'production';

export interface Config {
  mode: Mode;
  port: number;
  host: string;
  /** Public origin of this server, no trailing slash; the OAuth issuer and callback base. */
  baseUrl: string;
  database: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  dataDir: string;
  /** GATEHOUSE_SECRET_KEYS as given; undefined in development means "use the dev key file". */
  secretKeys: string | undefined;
  providersDir: string | undefined;
  /** http:// upstreams are allowed only in development (tests run upstreams on loopback). */
  allowInsecureUpstreams: boolean;
  logLevel: string;
  trustProxy: boolean;
  /** Per-instance request limits; null when GATEHOUSE_RATE_LIMITS=off. */
  rateLimits: RateLimits | null;
  /** When set, GET /metrics requires `Authorization: Bearer <this>`. */
  metricsToken: string | undefined;
  /** A request (headers and body) must have arrived within this many milliseconds, or it gets 408. */
  requestTimeoutMs: number;
  /** The provider proxy's time limit for the upstream's response headers, and for each pause in its body. */
  proxyTimeoutMs: number;
  /** Development only: where the offline sandbox provider runs; its `sandbox-drive` entry is then in the catalog. */
  sandboxUrl: string | undefined;
  /** The background refresher; intervalMs 0 turns it off. */
  refresher: RefresherConfig;
  /** How often an idle webhook worker looks for due deliveries. */
  webhookPollMs: number;
  /** Time limit of one call to a provider's OAuth endpoints (token, revocation, identity). */
  upstreamTimeoutMs: number;
}

export interface RefresherConfig {
  /** Pause between rounds (jittered ±20%); 0 = no background refresh. */
  intervalMs: number;
  /** A refresh token unused this long is exercised to keep it alive; 0 = never. */
  keepAliveMs: number;
  /** Accounts per round. */
  batchSize: number;
}

export const DEFAULT_PROXY_TIMEOUT_MS = 30_000;

/** Requests per minute allowed per client and per source IP; both apply. */
export interface RateLimit {
  perClient: number;
  perIp: number;
}

export const RATE_LIMIT_GROUPS = ['token', 'authorize', 'introspect', 'connect', 'api'] as const;
export type RateLimitGroup = (typeof RATE_LIMIT_GROUPS)[number];
export type RateLimits = Record<RateLimitGroup, RateLimit>;

/** Defaults, requests per minute: `perClient/perIp`. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  token: { perClient: 600, perIp: 1200 },
  authorize: { perClient: 300, perIp: 600 },
  introspect: { perClient: 1200, perIp: 2400 },
  connect: { perClient: 300, perIp: 600 },
  api: { perClient: 1200, perIp: 2400 },
};

/** A configuration problem, always naming the variable at fault. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parsePort(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT ?? '4000';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) throw new ConfigError('PORT', `"${raw}" is not a port number (0-65535)`);
  return port;
}

function parseBaseUrl(env: NodeJS.ProcessEnv, port: number, mode: Mode): string {
  const raw = env.GATEHOUSE_BASE_URL ?? `http://localhost:${port}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('GATEHOUSE_BASE_URL', `"${raw}" is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('GATEHOUSE_BASE_URL', 'must be an http(s) URL');
  }
  if (url.search || url.hash) throw new ConfigError('GATEHOUSE_BASE_URL', 'must not have a query or fragment');
  if (mode === 'production' && url.protocol !== 'https:') {
    throw new ConfigError('GATEHOUSE_BASE_URL', 'must be https in production');
  }
  return raw.replace(/\/+$/, '');
}

function parseDatabase(env: NodeJS.ProcessEnv, cwd: string): Config['database'] {
  const raw = env.GATEHOUSE_DATABASE_URL ?? 'sqlite:./data/gatehouse.db';
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length);
    if (!path) throw new ConfigError('GATEHOUSE_DATABASE_URL', 'sqlite: needs a file path, e.g. sqlite:./data/gatehouse.db');
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(cwd, path) };
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    try {
      new URL(raw);
    } catch {
      throw new ConfigError('GATEHOUSE_DATABASE_URL', 'is not a valid postgres:// URL');
    }
    return { kind: 'postgres', url: raw };
  }
  throw new ConfigError('GATEHOUSE_DATABASE_URL', 'must start with sqlite: or postgres://');
}

function parseRateLimits(env: NodeJS.ProcessEnv): RateLimits | null {
  const switchRaw = env.GATEHOUSE_RATE_LIMITS ?? 'on';
  if (switchRaw !== 'on' && switchRaw !== 'off') throw new ConfigError('GATEHOUSE_RATE_LIMITS', 'must be on or off');
  if (switchRaw === 'off') return null;
  const limits = { ...DEFAULT_RATE_LIMITS };
  for (const group of RATE_LIMIT_GROUPS) {
    const variable = `GATEHOUSE_RATE_LIMIT_${group.toUpperCase()}`;
    const raw = env[variable]?.trim();
    if (!raw) continue;
    const match = /^(\d{1,9})(?:\/(\d{1,9}))?$/.exec(raw);
    const perClient = Number(match?.[1]);
    const perIp = match?.[2] === undefined ? perClient * 2 : Number(match[2]);
    if (!match || perClient < 1 || perIp < 1) {
      throw new ConfigError(variable, `"${raw}" is not a limit: requests per minute per client, optionally /per IP (e.g. 600 or 600/1200)`);
    }
    limits[group] = { perClient, perIp };
  }
  return limits;
}

function parseMetricsToken(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.GATEHOUSE_METRICS_TOKEN;
  if (raw === undefined || raw === '') return undefined;
  if (!/^[\x21-\x7E]{16,512}$/.test(raw)) {
    throw new ConfigError('GATEHOUSE_METRICS_TOKEN', 'must be 16 to 512 printable characters without spaces (e.g. $(openssl rand -hex 32))');
  }
  return raw;
}

export const DEFAULT_SANDBOX_URL = 'http://localhost:4001';

/** GATEHOUSE_SANDBOX_URL: an http(s) origin in development (`off` hides the sandbox); never in production. */
function parseSandboxUrl(env: NodeJS.ProcessEnv, mode: Mode): string | undefined {
  const raw = env.GATEHOUSE_SANDBOX_URL?.trim();
  if (mode === 'production') {
    if (raw && raw !== 'off') throw new ConfigError('GATEHOUSE_SANDBOX_URL', 'the sandbox provider is for development only; unset it in production');
    return undefined;
  }
  if (raw === 'off') return undefined;
  const value = raw || DEFAULT_SANDBOX_URL;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('GATEHOUSE_SANDBOX_URL', `"${value}" is not an absolute URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
    throw new ConfigError('GATEHOUSE_SANDBOX_URL', 'must be an http(s) URL without query, fragment or credentials (e.g. http://localhost:4001), or off');
  }
  return value.replace(/\/+$/, '');
}

function parseCount(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d{1,9}$/.test(raw) || value < min || value > max) throw new ConfigError(variable, `"${raw}" must be a whole number from ${min} to ${max}`);
  return value;
}

function parseRefresher(env: NodeJS.ProcessEnv): RefresherConfig {
  return {
    intervalMs: parseCount(env, 'GATEHOUSE_REFRESH_INTERVAL_SECONDS', 60, 0, 86_400) * 1000,
    keepAliveMs: parseCount(env, 'GATEHOUSE_REFRESH_KEEPALIVE_DAYS', 30, 0, 3650) * 24 * 3600 * 1000,
    batchSize: parseCount(env, 'GATEHOUSE_REFRESH_BATCH', 20, 1, 1000),
  };
}

/** Reads and validates the configuration from the environment; throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const mode: Mode = env.NODE_ENV === 'production' ? 'production' : 'development';
  const port = parsePort(env);
  const host = env.HOST ?? (mode === 'production' ? '0.0.0.0' : '127.0.0.1');
  const secretKeys = env.GATEHOUSE_SECRET_KEYS?.trim() || undefined;
  if (mode === 'production' && !secretKeys) {
    throw new ConfigError('GATEHOUSE_SECRET_KEYS', 'is required in production (kid:base64key, e.g. k1:$(openssl rand -base64 32))');
  }
  const baseUrl = parseBaseUrl(env, port, mode);
  const database = parseDatabase(env, cwd);
  const dataDir = resolve(cwd, env.GATEHOUSE_DATA_DIR ?? './data');
  const logLevel = env.GATEHOUSE_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('GATEHOUSE_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const trustProxy = env.GATEHOUSE_TRUST_PROXY ?? 'false';
  if (trustProxy !== 'true' && trustProxy !== 'false') {
    throw new ConfigError('GATEHOUSE_TRUST_PROXY', 'must be true or false');
  }
  return {
    mode,
    port,
    host,
    baseUrl,
    database,
    dataDir,
    secretKeys,
    providersDir: env.GATEHOUSE_PROVIDERS_DIR ? resolve(cwd, env.GATEHOUSE_PROVIDERS_DIR) : undefined,
    allowInsecureUpstreams: mode === 'development',
    logLevel,
    trustProxy: trustProxy === 'true',
    rateLimits: parseRateLimits(env),
    metricsToken: parseMetricsToken(env),
    sandboxUrl: parseSandboxUrl(env, mode),
    requestTimeoutMs: parseCount(env, 'GATEHOUSE_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    refresher: parseRefresher(env),
    webhookPollMs: parseCount(env, 'GATEHOUSE_WEBHOOK_POLL_MS', 1000, 50, 600_000),
    upstreamTimeoutMs: parseCount(env, 'GATEHOUSE_UPSTREAM_TIMEOUT_MS', 15_000, 100, 600_000),
    proxyTimeoutMs: parseCount(env, 'GATEHOUSE_PROXY_TIMEOUT_MS', DEFAULT_PROXY_TIMEOUT_MS, 100, 600_000),
  };
}
