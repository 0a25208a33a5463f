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
