import { createHash } from 'node:crypto';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { findAccount, recordAudit } from '../store/index.ts';
import { newId, safeEqual, tokenKey } from '../vault/index.ts';
import type { AppView } from './apps.ts';
import { splitScope } from './scopes.ts';
import { issueTokens, revokeGrant, type TokenResponse } from './tokens.ts';

const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

async function replayDetected(services: Services, app: AppView, grantId: string, what: string): Promise<never> {
  const now = services.clock();
  await revokeGrant(services.db, grantId, now);
  await recordAudit(services.db, { id: newId('aud'), appId: app.id, actor: `app:${app.id}`, action: 'grant.revoked', subject: grantId, detail: { reason: what }, at: now });
  return fail(ErrorCode.invalidGrant, `this ${what} was already used; every token of its grant is revoked`);
}

/** Tokens for one live grant: an account-bound access token, a refresh token with offline_access. */
async function tokensForGrant(services: Services, app: AppView, grantId: string, scope: string[]): Promise<TokenResponse> {
  const grant = await services.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirst();
  if (!grant || grant.revoked_at !== null || grant.app_id !== app.id) return fail(ErrorCode.invalidGrant, 'the grant was revoked');
  const account = grant.account_id ? await findAccount(services.db, app.id, grant.account_id) : undefined;
  if (grant.account_id && (!account || account.status === 'revoked')) fail(ErrorCode.invalidGrant, 'the account of this grant is gone');
  const now = services.clock();
  const issued = await issueTokens(services.db, now, {
    appId: app.id,
    grantId,
    accountId: grant.account_id,
    scope,
    withRefresh: scope.includes('offline_access'),
  });
  return {
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    ...(issued.refreshToken ? { refresh_token: issued.refreshToken } : {}),
    scope: scope.join(' '),
    created_at: Math.floor(now / 1000),
    ...(account ? { account: { id: account.id, provider: account.provider, name: account.name, email: account.email } } : {}),
  };
}

/** RFC 6749 §4.1.3 + RFC 7636 §4.6: a code is single use, for its client and redirect URI, PKCE-checked. */
export async function authorizationCodeGrant(
  services: Services,
  app: AppView,
  input: { code?: string | undefined; redirectUri?: string | undefined; codeVerifier?: string | undefined },
): Promise<TokenResponse> {
  if (!input.code) fail(ErrorCode.invalidRequest, 'code is required');
  const { db } = services;
  const id = tokenKey(input.code!);
  const row = await db.selectFrom('authorization_codes').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || row.app_id !== app.id) return fail(ErrorCode.invalidGrant, 'the code is unknown or was issued to another client');
  const now = services.clock();
  const marked = await db.updateTable('authorization_codes').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
  if (Number(marked.numUpdatedRows) !== 1) return replayDetected(services, app, row.grant_id, 'authorization code');
  if (row.expires_at <= now) fail(ErrorCode.invalidGrant, 'the code expired');
  const redirectUri = input.redirectUri ?? (app.redirectUris.length === 1 ? app.redirectUris[0] : undefined);
  if (redirectUri !== row.redirect_uri) fail(ErrorCode.invalidGrant, 'redirect_uri does not match the authorization request');
  if (row.code_challenge === null) {
    if (input.codeVerifier !== undefined) fail(ErrorCode.invalidGrant, 'code_verifier sent for a code issued without a code_challenge');
  } else {
    const verifier = input.codeVerifier ?? fail(ErrorCode.invalidGrant, 'code_verifier is required');
    if (!PKCE_VALUE.test(verifier)) fail(ErrorCode.invalidGrant, 'code_verifier is malformed');
    const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
    if (!safeEqual(computed, row.code_challenge)) fail(ErrorCode.invalidGrant, 'code_verifier does not match the code_challenge');
  }
  const grant = await db.selectFrom('grants').select('scope').where('id', '=', row.grant_id).executeTakeFirst();
  return tokensForGrant(services, app, row.grant_id, splitScope(grant?.scope));
}

/** RFC 6749 §6 with rotation (RFC 9700 §4.14.2): each refresh token works once; a reuse ends the grant. */
export async function refreshTokenGrant(services: Services, app: AppView, input: { refreshToken?: string | undefined; scope?: string | undefined }): Promise<TokenResponse> {
  if (!input.refreshToken) fail(ErrorCode.invalidRequest, 'refresh_token is required');
  const { db } = services;
  const id = tokenKey(input.refreshToken!);
  const row = await db.selectFrom('refresh_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || row.app_id !== app.id) return fail(ErrorCode.invalidGrant, 'the refresh token is unknown or was issued to another client');
  const now = services.clock();
  const marked = await db.updateTable('refresh_tokens').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
  if (Number(marked.numUpdatedRows) !== 1) return replayDetected(services, app, row.grant_id, 'refresh token');
  if (row.expires_at <= now) fail(ErrorCode.invalidGrant, 'the refresh token expired');
  const held = splitScope(row.scope);
  const scope = input.scope === undefined || input.scope.trim() === '' ? held : splitScope(input.scope);
  for (const token of scope) if (!held.includes(token)) fail(ErrorCode.invalidScope, `scope "${token}" was not granted`);
  // a new refresh token comes with offline_access; narrowing it away ends refreshing
  return tokensForGrant(services, app, row.grant_id, scope);
}
