import { randomBytes } from 'node:crypto';
import { importAccount } from '../../src/accounts/index.ts';
import { createApp } from '../../src/authorization/index.ts';
import { setIntegration } from '../../src/connect/index.ts';
import type { Services } from '../../src/services.ts';
import { upsertAccount, type AccountRow, type Db } from '../../src/store/index.ts';
import { recordSecret } from './secrets.ts';

/** Registers an app the way `gatehouse apps create` does and notes its secrets for the log scan. */
export async function registerApp(services: Services, name = `app-${Math.random().toString(36).slice(2, 8)}`) {
  const created = await createApp(services, {
    name,
    redirectUris: ['http://127.0.0.1:9/callback'],
    scopes: ['accounts:read', 'accounts:write'],
  });
  recordSecret(created.clientSecret, created.apiKey);
  return created;
}

export async function integrate(
  services: Services,
  appId: string,
  provider: string,
  upstream: { clientId: string; clientSecret: string; issuer?: string },
) {
  recordSecret(upstream.clientSecret);
  return setIntegration(services, { app: appId, provider, clientId: upstream.clientId, clientSecret: upstream.clientSecret, issuer: upstream.issuer });
}

/** A GitHub account with no upstream tokens, written straight into the store (for API and metrics tests). */
export async function seedAccount(db: Db, appId: string, subject: string, id = `acc_${subject}`): Promise<AccountRow> {
  const saved = await upsertAccount(db, {
    newId: id,
    app_id: appId,
    provider: 'github',
    upstream_subject: subject,
    end_user_id: null,
    name: subject,
    email: null,
    scope: 'repo',
    template_values: '{}',
    sealTokens: () => ({ access_token_sealed: null, refresh_token_sealed: null, id_token_sealed: null, token_type: 'bearer', expires_at: null }),
    now: Date.now(),
  });
  return saved.account;
}

/**
 * A new app with a test-oauth2 integration (the oauth2-mock-server upstream) and one account
 * imported with fresh random tokens expiring in `expiresIn` seconds; its secrets go to the log scan.
 */
export async function importedTestAccount(services: Services, upstreamClientSecret: string, expiresIn = 60) {
  const created = await registerApp(services);
  await integrate(services, created.app.id, 'test-oauth2', { clientId: 'mock-client', clientSecret: upstreamClientSecret });
  const access = `at-${randomBytes(16).toString('hex')}`;
  const refresh = `rt-${randomBytes(16).toString('hex')}`;
  recordSecret(access, refresh);
  const { account } = await importAccount(services, created.app.id, { provider: 'test-oauth2', access_token: access, refresh_token: refresh, expires_in: expiresIn });
  return { appId: created.app.id, key: created.apiKey, id: account.id, access, refresh };
}
