// Gatehouse under test: a database prepared and seeded in-process through the server's own
// modules, then `gatehouse serve` as a separate process with production-like settings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openServices } from '../../packages/server/src/boot.ts';
import { loadConfig, type Config } from '../../packages/server/src/config.ts';
import { createLogger } from '../../packages/server/src/logger.ts';
import { createApp, issueTokens } from '../../packages/server/src/authorization/index.ts';
import type { Services } from '../../packages/server/src/services.ts';
import type { Store } from '../../packages/server/src/store/index.ts';
import { generateKeyringSpec } from '../../packages/server/src/vault/index.ts';
import { startNode, type Service } from './processes.ts';

export const GATEHOUSE_BIN = fileURLToPath(new URL('../../packages/server/bin/gatehouse.js', import.meta.url));
export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type StoreKind = 'sqlite' | 'postgres';

/** Settings every Gatehouse of the bench runs with (shown in the table notes). */
export const GATEHOUSE_SETTINGS = {
  // development only so that plain-http loopback upstreams are allowed; nothing else differs
  NODE_ENV: 'development',
  GATEHOUSE_LOG_LEVEL: 'warn',
  GATEHOUSE_RATE_LIMITS: 'off',
};

export interface BenchDatabase {
  kind: StoreKind;
  /** The GATEHOUSE_DATABASE_URL value. */
  url: string;
  sqlitePath?: string;
  drop(): Promise<void>;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** An empty database: a SQLite file in a temporary folder, or a PostgreSQL database of its own. */
export async function freshDatabase(kind: StoreKind): Promise<BenchDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
    const path = join(dir, 'gatehouse.db');
    return { kind, url: `sqlite:${path}`, sqlitePath: path, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { kind, url: url.href, drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}) };
}

/** True when PostgreSQL answers at the admin URL. */
export async function postgresAvailable(): Promise<boolean> {
  try {
    await admin((c) => c.query('select 1'));
    return true;
  } catch {
    return false;
  }
}

export interface GatehouseEnv {
  database: BenchDatabase;
  secretKeys: string;
  dataDir: string;
  providersDir?: string;
}

export function gatehouseEnv(env: GatehouseEnv, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...GATEHOUSE_SETTINGS,
    GATEHOUSE_DATABASE_URL: env.database.url,
    GATEHOUSE_SECRET_KEYS: env.secretKeys,
    GATEHOUSE_DATA_DIR: env.dataDir,
    ...(env.providersDir ? { GATEHOUSE_PROVIDERS_DIR: env.providersDir } : {}),
    ...extra,
  };
}

/** Opens the database through the server's own boot (migrating it) for seeding. */
export async function withServices<T>(env: GatehouseEnv, run: (services: Services & { store: Store }, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(gatehouseEnv(env), process.cwd());
  const services = await openServices(config, createLogger('warn', process.stderr as never));
  try {
    return await run(services, config);
  } finally {
    await services.store.close();
  }
}

/** What the cases authenticate with. */
export interface Credentials {
  appId: string;
  clientSecret: string;
  apiKey: string;
  /** A live app-wide access token (scope accounts:read accounts:write proxy when the scope exists). */
  accessToken: string;
}

/** Registers one confidential app and mints one access token for it. */
export async function seedApp(env: GatehouseEnv, scopes: string[]): Promise<Credentials> {
  return withServices(env, async (services) => {
    const created = await createApp(services, {
      name: `bench-${randomBytes(4).toString('hex')}`,
      redirectUris: ['http://127.0.0.1/callback'],
      scopes,
    });
    const { accessToken } = await issueTokens(services.db, services.clock(), {
      appId: created.app.id,
      grantId: null,
      accountId: null,
      scope: scopes,
      withRefresh: false,
    });
    return { appId: created.app.id, clientSecret: created.clientSecret!, apiKey: created.apiKey, accessToken };
  });
}

/** A fresh environment (database, keyring, data folder) of the given kind. */
export async function freshEnv(kind: StoreKind, providersDir?: string): Promise<GatehouseEnv> {
  return {
    database: await freshDatabase(kind),
    secretKeys: generateKeyringSpec('bench1'),
    dataDir: mkdtempSync(join(tmpdir(), 'gatehouse-bench-data-')),
    ...(providersDir ? { providersDir } : {}),
  };
}

export async function dropEnv(env: GatehouseEnv): Promise<void> {
  await env.database.drop();
  rmSync(env.dataDir, { recursive: true, force: true });
}

/**
 * V8 flags `gatehouse serve` runs with in the Docker image and `npm start` (README, Memory): an
 * 8 MB semi-space keeps V8's young generation at half its default size. 4 MB saved a little more
 * memory but cost the proxy about 15% more CPU per call (objects of calls in flight outlived the
 * smaller nursery and were promoted).
 */
export const GATEHOUSE_NODE_ARGS = ['--max-semi-space-size=8'];

/**
 * A build of Gatehouse (a CLI entry script, e.g. one in a git worktree of another commit) serving
 * `env`, for the A/B tools; written `<bin>::<node flags>` it runs with those node flags
 * (space-separated) instead of the bench's.
 */
export function startBuild(name: string, spec: string, env: GatehouseEnv): Promise<Service> {
  const [bin, flags] = spec.split('::');
  const nodeArgs = flags === undefined ? GATEHOUSE_NODE_ARGS : flags.split(' ').filter(Boolean);
  return startNode(name, bin!, { env: gatehouseEnv(env), nodeArgs, scriptArgs: ['serve'], probePath: '/healthz' });
}

/** `gatehouse serve` as a separate process on the server core. */
export function startGatehouse(name: string, env: GatehouseEnv, options: { nodeArgs?: string[]; extraEnv?: Record<string, string> } = {}): Promise<Service> {
  return startNode(name, GATEHOUSE_BIN, {
    env: gatehouseEnv(env, options.extraEnv),
    nodeArgs: [...GATEHOUSE_NODE_ARGS, ...(options.nodeArgs ?? [])],
    scriptArgs: ['serve'],
    probePath: '/healthz',
  });
}
