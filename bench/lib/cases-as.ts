// The authorization-server cases: verify, introspection and client credentials, each against its
// baseline measured in the same run, in alternating rounds.
import { log, stopGatehouse, trackGatehouse, type RunSettings } from './context.ts';
import { dropEnv, freshEnv, seedApp, startGatehouse, type Credentials, type GatehouseEnv, type StoreKind } from './gatehouse.ts';
import { alternate, type LoadSpec, type Measured } from './load.ts';
import { startNode, type Service } from './processes.ts';
import type { CaseResult } from './table.ts';

const script = (name: string) => new URL(`../baselines/${name}`, import.meta.url).pathname;
export const basicAuth = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
export const FORM = 'application/x-www-form-urlencoded';

export const APP_SCOPES = ['accounts:read', 'accounts:write', 'proxy'];

export async function checkOk(url: string, init: RequestInit, what: string): Promise<void> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
}

/** A running Gatehouse with its seeded app. */
export interface SeededGatehouse {
  service: Service;
  env: GatehouseEnv;
  creds: Credentials;
  close(): Promise<void>;
}

export async function seededGatehouse(kind: StoreKind, providersDir?: string, name = `gatehouse-${kind}`): Promise<SeededGatehouse> {
  const env = await freshEnv(kind, providersDir);
  const creds = await seedApp(env, APP_SCOPES);
  const service = trackGatehouse(await startGatehouse(name, env));
  return {
    service,
    env,
    creds,
    async close() {
      await stopGatehouse(service);
      await dropEnv(env);
    },
  };
}

/** The load specs of the three cases against one Gatehouse. */
export function gatehouseSpecs(settings: Pick<RunSettings, 'connections' | 'seconds'>, g: Pick<SeededGatehouse, 'service' | 'creds'>) {
  const common = { connections: settings.connections, seconds: settings.seconds, pid: g.service.pid };
  const authorization = basicAuth(g.creds.appId, g.creds.clientSecret);
  const verify: LoadSpec = { ...common, url: `${g.service.url}/v1/oauth/token`, authorization: `Bearer ${g.creds.accessToken}` };
  const introspect: LoadSpec = {
    ...common,
    url: `${g.service.url}/oauth/introspect`,
    method: 'POST',
    authorization,
    contentType: FORM,
    body: `token=${g.creds.accessToken}`,
  };
  const clientCredentials: LoadSpec = { ...introspect, url: `${g.service.url}/oauth/token`, body: 'grant_type=client_credentials&scope=accounts%3Aread' };
  return { verify, introspect, clientCredentials };
}

async function checkSpecs(specs: Record<string, LoadSpec>): Promise<void> {
  for (const [name, spec] of Object.entries(specs)) {
    const headers: Record<string, string> = {};
    if (spec.authorization) headers.authorization = spec.authorization;
    if (spec.contentType) headers['content-type'] = spec.contentType;
    await checkOk(spec.url, { method: spec.method ?? 'GET', headers, ...(spec.body ? { body: spec.body } : {}) }, name);
  }
}

/** The baselines of the three cases: bare Fastify, and node-oidc-provider v8. */
export async function startBaselines(settings: RunSettings) {
  const fastify = await startNode('fastify-json', script('fastify-json.ts'), {});
  const clientId = 'bench-client';
  const clientSecret = `bench-${Math.random().toString(36).slice(2)}`;
  const oidc = await startNode('oidc-provider', script('oidc-provider.ts'), {
    env: { OIDC_CLIENT_ID: clientId, OIDC_CLIENT_SECRET: clientSecret },
    probePath: '/.well-known/openid-configuration',
  });
  const authorization = basicAuth(clientId, clientSecret);
  const minted = await fetch(`${oidc.url}/token`, { method: 'POST', headers: { authorization, 'content-type': FORM }, body: 'grant_type=client_credentials&scope=api' });
  const { access_token: token } = (await minted.json()) as { access_token?: string };
  if (!token) throw new Error('node-oidc-provider minted no token');
  const common = { connections: settings.connections, seconds: settings.seconds };
  const specs = {
    verify: { ...common, pid: fastify.pid, url: `${fastify.url}/` } as LoadSpec,
    introspect: { ...common, pid: oidc.pid, url: `${oidc.url}/token/introspection`, method: 'POST', authorization, contentType: FORM, body: `token=${token}` } as LoadSpec,
    clientCredentials: { ...common, pid: oidc.pid, url: `${oidc.url}/token`, method: 'POST', authorization, contentType: FORM, body: 'grant_type=client_credentials&scope=api' } as LoadSpec,
  };
  await checkSpecs(specs);
  return {
    specs,
    async close() {
      await fastify.stop();
      await oidc.stop();
    },
  };
}

/** CPU µs per request of both sides, when measured. */
export function cpuOf(g: Measured, b: Measured | undefined): CaseResult['cpu'] {
  return g.cpuUsPerRequest === undefined ? undefined : { gatehouse: g.cpuUsPerRequest, baseline: b?.cpuUsPerRequest ?? null };
}

const CASES = [
  { key: 'verify', name: 'verify', baselineName: 'bare Fastify', target: 0.7 },
  { key: 'introspect', name: 'introspection', baselineName: 'oidc-provider', target: 3 },
  { key: 'clientCredentials', name: 'client credentials', baselineName: 'oidc-provider', target: 2 },
] as const;

/**
 * The verify / introspection / client-credentials rows: each Gatehouse (SQLite, and PostgreSQL
 * when given) alternates with the baseline, round after round.
 */
export async function authorizationServerCases(
  settings: RunSettings,
  baselines: Awaited<ReturnType<typeof startBaselines>>,
  gatehouses: { sqlite: SeededGatehouse; postgres?: SeededGatehouse | undefined },
): Promise<CaseResult[]> {
  const sqlite = gatehouseSpecs(settings, gatehouses.sqlite);
  const postgres = gatehouses.postgres ? gatehouseSpecs(settings, gatehouses.postgres) : undefined;
  await checkSpecs(sqlite);
  if (postgres) await checkSpecs(postgres);
  const rows: CaseResult[] = [];
  const later: CaseResult[] = [];
  for (const c of CASES) {
    log(`${c.name}: Gatehouse (SQLite${postgres ? ', PostgreSQL' : ''}) against ${c.baselineName}`);
    const specs: Record<string, LoadSpec> = { baseline: baselines.specs[c.key], sqlite: sqlite[c.key] };
    if (postgres) specs.postgres = postgres[c.key];
    const measured = await alternate(specs, { rounds: settings.rounds, warmup: settings.warmup, reference: 'baseline', log });
    const row = (kind: 'sqlite' | 'postgres'): CaseResult => ({
      name: kind === 'sqlite' ? c.name : `${c.name} (postgres)`,
      unit: 'rps',
      gatehouse: measured[kind]!.rps,
      baseline: measured.baseline!.rps,
      baselineName: c.baselineName,
      target: { kind: 'ratio-at-least', value: c.target },
      errors: { gatehouse: measured[kind]!.errors, baseline: measured.baseline!.errors },
      samples: { gatehouse: measured[kind]!.samples, baseline: measured.baseline!.samples },
      cpu: cpuOf(measured[kind]!, measured.baseline!),
    });
    rows.push(row('sqlite'));
    if (postgres) later.push(row('postgres'));
  }
  return [...rows, ...later];
}
