// The local upstream and the catalog entry that points Gatehouse at it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setIntegration } from '../../packages/server/src/connect/index.ts';
import type { Credentials, GatehouseEnv } from './gatehouse.ts';
import { withServices } from './gatehouse.ts';
import { startNode, UPSTREAM_CPUS, type Service } from './processes.ts';

export const BENCH_PROVIDER = 'bench-upstream';
/** The upstream API path every proxy case asks for. */
export const UPSTREAM_PATH = 'files/1';

export async function startUpstream(): Promise<Service> {
  return startNode('upstream', new URL('../baselines/upstream.ts', import.meta.url).pathname, { probePath: '/_stats', cpus: UPSTREAM_CPUS });
}

/** A providers folder with one entry, `bench-upstream`, whose API and token endpoint are the local upstream. */
export function benchProvidersDir(upstreamUrl: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-providers-'));
  const entry = {
    id: BENCH_PROVIDER,
    name: 'Bench upstream',
    categories: ['storage'],
    authorizationUrl: `${upstreamUrl}/authorize`,
    tokenUrl: `${upstreamUrl}/token`,
    scopes: { default: ['files'] },
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_basic',
    identity: { source: 'profile', url: `${upstreamUrl}/me`, id: 'id' },
    proxy: { baseUrl: upstreamUrl },
  };
  writeFileSync(join(dir, `${BENCH_PROVIDER}.json`), `${JSON.stringify(entry, null, 2)}\n`);
  return dir;
}

/** The app's integration (upstream client credentials) with the bench provider. */
export async function seedIntegration(env: GatehouseEnv, creds: Credentials): Promise<void> {
  await withServices(env, async (services) => {
    await setIntegration(services, { app: creds.appId, provider: BENCH_PROVIDER, clientId: 'bench-client', clientSecret: 'bench-upstream-secret' });
  });
}

/**
 * The app's integration with the bench provider and one connected account whose sealed upstream
 * token is `upstreamToken`, expiring at `expiresAt` (in the past for the refresh storm).
 */
export async function seedProxyAccount(
  env: GatehouseEnv,
  creds: Credentials,
  options: { upstreamToken: string; expiresAt: number; integration?: boolean },
): Promise<string> {
  return withServices(env, async (services) => {
    if (options.integration !== false) {
      await setIntegration(services, { app: creds.appId, provider: BENCH_PROVIDER, clientId: 'bench-client', clientSecret: 'bench-upstream-secret' });
    }
    const id = `acc_bench_${Math.random().toString(36).slice(2, 12)}`;
    const now = Date.now();
    await services.db
      .insertInto('accounts')
      .values({
        id,
        app_id: creds.appId,
        provider: BENCH_PROVIDER,
        upstream_subject: id,
        end_user_id: null,
        name: 'Bench user',
        email: 'bench@example.test',
        status: 'active',
        scope: 'files',
        template_values: '{}',
        metadata: '{}',
        created_at: now,
        updated_at: now,
      })
      .execute();
    const context = (field: string) => ({ table: 'account_tokens', id, field });
    await services.db
      .insertInto('account_tokens')
      .values({
        account_id: id,
        access_token_sealed: services.vault.seal(options.upstreamToken, context('access_token')),
        refresh_token_sealed: services.vault.seal('up_rt_bench', context('refresh_token')),
        id_token_sealed: null,
        token_type: 'Bearer',
        expires_at: options.expiresAt,
        version: 1,
        updated_at: now,
        refresh_retry_at: null,
        refresh_error: null,
      })
      .execute();
    return id;
  });
}
