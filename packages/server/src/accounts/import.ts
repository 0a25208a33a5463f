import * as oauth from 'oauth4webapi';
import { readPath, upstreamFailure, upstreamFor } from '../connect/index.ts';
import { ErrorCode, fail, GatehouseError } from '../errors.ts';
import type { Services } from '../services.ts';
import { recordAudit, toJson, upsertAccount } from '../store/index.ts';
import { newId } from '../vault/index.ts';
import { emitConnected } from './events.ts';
import { toAccountView, type AccountView } from './views.ts';

export interface ImportAccountInput {
  provider: string;
  access_token: string;
  refresh_token?: string | undefined;
  expires_in?: number | undefined;
  scope?: string | undefined;
  end_user_id?: string | undefined;
  template_values?: Record<string, string> | undefined;
}

/**
 * Imports a token set the app already holds (Kloudless' import): the identity is read from the
 * provider with the access token itself, so an app cannot file a token under someone else's name.
 */
export async function importAccount(
  services: Services,
  appId: string,
  input: ImportAccountInput,
): Promise<{ account: AccountView; created: boolean }> {
  const upstream = await upstreamFor(services, appId, input.provider, input.template_values ?? {});
  const { entry, server } = upstream;
  let document: unknown;
  try {
    if (entry.identity.source === 'profile') {
      const response = await oauth.protectedResourceRequest(
        input.access_token,
        entry.identity.method ?? 'GET',
        new URL(server.profileUrl!),
        new Headers({ accept: 'application/json', ...entry.identity.headers }),
        null,
        upstream.requestOptions(),
      );
      if (!response.ok) fail(ErrorCode.invalidGrant, `the provider refused the access token (HTTP ${response.status})`);
      document = await response.json();
    } else {
      if (!server.as.userinfo_endpoint) fail(ErrorCode.invalidRequest, `provider "${entry.id}" has no way to read an identity from an access token`);
      const response = await oauth.userInfoRequest(server.as, upstream.client, input.access_token, upstream.requestOptions());
      document = await oauth.processUserInfoResponse(server.as, upstream.client, oauth.skipSubjectCheck, response);
    }
  } catch (err) {
    if (err instanceof GatehouseError) throw err;
    if (err instanceof oauth.WWWAuthenticateChallengeError) {
      fail(ErrorCode.invalidGrant, `the provider refused the access token (HTTP ${err.status})`);
    }
    throw upstreamFailure("reading the account's identity failed", err);
  }
  const text = (path: string | undefined) => {
    const value = path ? readPath(document, path) : undefined;
    return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
  };
  // The generic rule reads claims; a userinfo document uses the same names as the ID token.
  const subject = text(entry.identity.id) ?? fail(ErrorCode.upstreamError, `the provider's identity has no "${entry.identity.id}"`);
  const now = services.clock();
  const expiresAt = input.expires_in !== undefined ? now + input.expires_in * 1000 : null;
  const { account, created } = await upsertAccount(services.db, {
    newId: newId('acc'),
    app_id: appId,
    provider: entry.id,
    upstream_subject: subject,
    end_user_id: input.end_user_id ?? null,
    name: text(entry.identity.name),
    email: text(entry.identity.email),
    scope: input.scope ?? '',
    template_values: toJson(input.template_values ?? {}),
    sealTokens: (id) => ({
      access_token_sealed: services.vault.seal(input.access_token, { table: 'account_tokens', id, field: 'access_token' }),
      refresh_token_sealed: input.refresh_token
        ? services.vault.seal(input.refresh_token, { table: 'account_tokens', id, field: 'refresh_token' })
        : null,
      id_token_sealed: null,
      token_type: 'bearer',
      expires_at: expiresAt,
    }),
    now,
    within: (trx, saved) => emitConnected(trx, saved, now),
  });
  await recordAudit(services.db, {
    id: newId('aud'),
    appId,
    actor: `app:${appId}`,
    action: created ? 'account.imported' : 'account.reimported',
    subject: account.id,
    detail: { provider: entry.id },
    at: now,
  });
  return { account: toAccountView(account), created };
}
