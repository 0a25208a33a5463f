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
}

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
  };
}
