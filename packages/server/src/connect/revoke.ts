import * as oauth from 'oauth4webapi';
import type { Services } from '../services.ts';
import type { AccountRow, AccountTokensRow } from '../store/index.ts';
import { fromJson } from '../store/index.ts';
import { REVOKE_HOOKS } from './hooks/index.ts';
import { openClientSecret } from './integrations.ts';
import { upstreamFailure, upstreamFor } from './upstream.ts';

/** What happened upstream when an account was released; reported to the API caller. */
export interface UpstreamRevocation {
  /** `rfc7009`, `hook:<name>`, or `none` when the provider offers no way to revoke. */
  method: string;
  revoked: boolean;
  error?: string;
}

/**
 * Revokes an account's grant at the provider: the entry's named hook where it has one, else
 * RFC 7009 at its revocation endpoint (the refresh token, which ends the grant, else the access token).
 */
export async function revokeUpstream(
  services: Services,
  account: AccountRow,
  tokens: AccountTokensRow | undefined,
): Promise<UpstreamRevocation> {
  const open = (value: string | null, field: string) =>
    value ? services.vault.open(value, { table: 'account_tokens', id: account.id, field }) : null;
  const accessToken = open(tokens?.access_token_sealed ?? null, 'access_token');
  const refreshToken = open(tokens?.refresh_token_sealed ?? null, 'refresh_token');
  if (!accessToken && !refreshToken) return { method: 'none', revoked: false, error: 'no token was stored' };
  let method = 'none';
  try {
    const upstream = await upstreamFor(services, account.app_id, account.provider, fromJson(account.template_values, {}));
    const hookName = upstream.entry.hooks?.revoke;
    if (hookName) {
      method = `hook:${hookName}`;
      const hook = REVOKE_HOOKS[hookName];
      if (!hook) return { method, revoked: false, error: `no revoke hook named "${hookName}"` };
      await hook({ upstream, accessToken, refreshToken, clientSecret: openClientSecret(services, upstream.integration) });
      return { method, revoked: true };
    }
    if (!upstream.server.as.revocation_endpoint) return { method, revoked: false, error: 'the provider has no revocation endpoint' };
    method = 'rfc7009';
    const token = refreshToken ?? accessToken!;
    const response = await oauth.revocationRequest(upstream.server.as, upstream.client, upstream.clientAuth, token, {
      ...upstream.requestOptions(),
      additionalParameters: { token_type_hint: refreshToken ? 'refresh_token' : 'access_token' },
    });
    await oauth.processRevocationResponse(response);
    return { method, revoked: true };
  } catch (err) {
    return { method, revoked: false, error: upstreamFailure('revocation failed', err).description };
  }
}
