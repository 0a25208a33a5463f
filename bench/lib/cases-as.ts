// The authorization-server cases: verify, introspection and client credentials, each against its
// baseline measured in the same run.
import { log, stopGatehouse, type RunSettings } from './context.ts';
import { dropEnv, freshEnv, seedApp, startGatehouse, type Credentials, type StoreKind } from './gatehouse.ts';
import { measure, type LoadResult } from './load.ts';
import { startNode, type Service } from './processes.ts';
import type { CaseResult } from './table.ts';

const BASELINE_DIR = new URL('../baselines/', import.meta.url);
const script = (name: string) => new URL(name, BASELINE_DIR).pathname;
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

export const APP_SCOPES = ['accounts:read', 'accounts:write', 'proxy'];

export interface Baselines {
  verify: LoadResult;
  introspect: LoadResult;
  clientCredentials: LoadResult;
}

/** The three baselines: bare Fastify, and node-oidc-provider's introspection and /token. */
export async function measureBaselines(settings: RunSettings): Promise<Baselines> {
  const fastify = await startNode('fastify-json', script('fastify-json.ts'), {});
  let verify: LoadResult;
  try {
    log('baseline: bare Fastify GET');
    verify = await measure({ url: `${fastify.url}/`, connections: settings.connections, seconds: settings.seconds }, settings.warmup);
  } finally {
    await fastify.stop();
  }
  const clientId = 'bench-client';
  const clientSecret = `bench-${Math.random().toString(36).slice(2)}`;
  const oidc = await startNode('oidc-provider', script('oidc-provider.ts'), {
    env: { OIDC_CLIENT_ID: clientId, OIDC_CLIENT_SECRET: clientSecret },
    probePath: '/.well-known/openid-configuration',
  });
  try {
    const authorization = basic(clientId, clientSecret);
    const minted = await fetch(`${oidc.url}/token`, {
      method: 'POST',
      headers: { authorization, 'content-type': FORM },
      body: 'grant_type=client_credentials&scope=api',
    });
    const { access_token: token } = (await minted.json()) as { access_token: string };
    if (!token) throw new Error('node-oidc-provider minted no token');
    log('baseline: node-oidc-provider /token/introspection');
    const introspect = await measure(
      { url: `${oidc.url}/token/introspection`, method: 'POST', authorization, contentType: FORM, body: `token=${token}`, connections: settings.connections, seconds: settings.seconds },
      settings.warmup,
    );
    log('baseline: node-oidc-provider /token client_credentials');
    const clientCredentials = await measure(
      { url: `${oidc.url}/token`, method: 'POST', authorization, contentType: FORM, body: 'grant_type=client_credentials&scope=api', connections: settings.connections, seconds: settings.seconds },
      settings.warmup,
    );
    return { verify, introspect, clientCredentials };
  } finally {
    await oidc.stop();
  }
}

export async function checkOk(url: string, init: RequestInit, what: string): Promise<void> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
}

/** Gatehouse's figures for the three cases on one store. */
export async function measureGatehouseAs(settings: RunSettings, gatehouse: Service, creds: Credentials) {
  const authorization = basic(creds.appId, creds.clientSecret);
  const bearer = `Bearer ${creds.accessToken}`;
  const verifySpec = { url: `${gatehouse.url}/v1/oauth/token`, authorization: bearer, connections: settings.connections, seconds: settings.seconds };
  const introspectSpec = {
    url: `${gatehouse.url}/oauth/introspect`,
    method: 'POST' as const,
    authorization,
    contentType: FORM,
    body: `token=${creds.accessToken}`,
    connections: settings.connections,
    seconds: settings.seconds,
  };
  const ccSpec = { ...introspectSpec, url: `${gatehouse.url}/oauth/token`, body: 'grant_type=client_credentials&scope=accounts%3Aread' };
  await checkOk(verifySpec.url, { headers: { authorization: bearer } }, 'verify');
  await checkOk(introspectSpec.url, { method: 'POST', headers: { authorization, 'content-type': FORM }, body: introspectSpec.body }, 'introspect');
  await checkOk(ccSpec.url, { method: 'POST', headers: { authorization, 'content-type': FORM }, body: ccSpec.body }, 'client_credentials');
  log(`${gatehouse.name}: verify`);
  const verify = await measure(verifySpec, settings.warmup);
  log(`${gatehouse.name}: introspection`);
  const introspect = await measure(introspectSpec, settings.warmup);
  log(`${gatehouse.name}: client_credentials`);
  const clientCredentials = await measure(ccSpec, settings.warmup);
  return { verify, introspect, clientCredentials };
}

/** The verify / introspection / client-credentials rows for one store kind. */
export async function authorizationServerCases(settings: RunSettings, baselines: Baselines, kind: StoreKind): Promise<CaseResult[]> {
  const env = await freshEnv(kind);
  try {
    const creds = await seedApp(env, APP_SCOPES);
    const gatehouse = await startGatehouse(`gatehouse-${kind}`, env);
    let figures;
    try {
      figures = await measureGatehouseAs(settings, gatehouse, creds);
    } finally {
      await stopGatehouse(gatehouse);
    }
    const suffix = kind === 'sqlite' ? '' : ` (${kind})`;
    const row = (name: string, g: LoadResult, b: LoadResult, baselineName: string, target: number): CaseResult => ({
      name: name + suffix,
      unit: 'rps',
      gatehouse: g.rps,
      baseline: b.rps,
      baselineName,
      target: { kind: 'ratio-at-least', value: target },
      errors: { gatehouse: g.errors, baseline: b.errors },
    });
    return [
      row('verify', figures.verify, baselines.verify, 'bare Fastify', 0.7),
      row('introspection', figures.introspect, baselines.introspect, 'oidc-provider', 3),
      row('client credentials', figures.clientCredentials, baselines.clientCredentials, 'oidc-provider', 2),
    ];
  } finally {
    await dropEnv(env);
  }
}
