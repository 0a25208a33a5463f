// Growth: the same Gatehouse with a small and a large store (accounts, sealed upstream tokens and
// access tokens), side by side in alternating rounds; the load cycles through 1,000 distinct
// tokens so that lookups really reach the database's indexes, not only the credential cache.
import { APP_SCOPES } from './cases-as.ts';
import { log, stopGatehouse, trackGatehouse, type RunSettings } from './context.ts';
import { dropEnv, freshEnv, seedApp, startGatehouse, type Credentials, type GatehouseEnv } from './gatehouse.ts';
import { alternate, type LoadSpec } from './load.ts';
import type { Service } from './processes.ts';
import { seedAccounts, type GrowthSeed } from './seed.ts';
import type { CaseResult } from './table.ts';

export const SAMPLE_TOKENS = 1000;

export interface GrownGatehouse {
  rows: number;
  env: GatehouseEnv;
  creds: Credentials;
  seed: GrowthSeed;
  service: Service;
}

/** A Gatehouse over a SQLite store seeded with `rows` accounts of `provider`. */
export async function grownGatehouse(
  rows: number,
  options: { provider: string; providersDir?: string; upstreamToken: string; beforeStart?: (env: GatehouseEnv, creds: Credentials) => Promise<void> },
): Promise<GrownGatehouse> {
  const env = await freshEnv('sqlite', options.providersDir);
  const creds = await seedApp(env, APP_SCOPES);
  await options.beforeStart?.(env, creds);
  log(`seeding ${rows.toLocaleString('en-US')} accounts with tokens`);
  const seed = seedAccounts(env.database.sqlitePath!, env.secretKeys, {
    appId: creds.appId,
    provider: options.provider,
    count: rows,
    sample: SAMPLE_TOKENS,
    upstreamToken: options.upstreamToken,
    upstreamExpiresAt: Date.now() + 24 * 3600_000,
  });
  log(`  seeded in ${seed.seconds.toFixed(1)} s`);
  const service = trackGatehouse(await startGatehouse(`gatehouse-${rows}`, env));
  return { rows, env, creds, seed, service };
}

export async function closeGrown(g: GrownGatehouse | undefined): Promise<void> {
  if (!g) return;
  await stopGatehouse(g.service);
  await dropEnv(g.env);
}

/** Verify (and, when given, proxy) throughput with the large store against the small one. */
export async function growthCases(
  settings: RunSettings,
  small: GrownGatehouse,
  large: GrownGatehouse,
  proxyPath?: (accountId: string) => string,
): Promise<CaseResult[]> {
  const spec = (g: GrownGatehouse, kind: 'verify' | 'proxy'): LoadSpec => ({
    url: g.service.url,
    pid: g.service.pid,
    connections: settings.connections,
    seconds: settings.seconds,
    requests: g.seed.sample.map((s) =>
      kind === 'verify'
        ? { path: '/v1/oauth/token', authorization: `Bearer ${s.accessToken}` }
        : { path: proxyPath!(s.accountId), authorization: `Bearer ${g.creds.apiKey}` },
    ),
  });
  const rows: CaseResult[] = [];
  const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));
  for (const kind of proxyPath ? (['verify', 'proxy'] as const) : (['verify'] as const)) {
    log(`growth (${kind}): ${label(large.rows)} rows against ${label(small.rows)}`);
    const measured = await alternate({ small: spec(small, kind), large: spec(large, kind) }, { rounds: settings.rounds, warmup: settings.warmup, log });
    rows.push({
      name: `growth: ${kind}, ${label(large.rows)} stored`,
      unit: 'rps',
      gatehouse: measured.large.rps,
      baseline: measured.small.rps,
      baselineName: `${label(small.rows)} stored`,
      target: { kind: 'ratio-at-least', value: 0.9 },
      errors: { gatehouse: measured.large.errors, baseline: measured.small.errors },
      samples: { gatehouse: measured.large.samples, baseline: measured.small.samples },
      cpu: measured.large.cpuUsPerRequest === undefined ? undefined : { gatehouse: measured.large.cpuUsPerRequest, baseline: measured.small.cpuUsPerRequest ?? null },
    });
  }
  return rows;
}
