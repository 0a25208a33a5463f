import { ErrorCode, fail, GatehouseError } from '../errors.ts';
import type { Services } from '../services.ts';
import { findAccount, findAppById, recordAudit } from '../store/index.ts';
import { mintToken, newId, tokenKey } from '../vault/index.ts';
import { errorRedirect, pendingRequest, popupTarget, redirectWith, type PendingRequest, type PopupTarget } from './requests.ts';
import { parseScope, splitScope } from './scopes.ts';

export const AUTHORIZATION_CODE_TTL_MS = 60 * 1000;

const RIGHT_WORDS: Record<string, string> = {
  'accounts:read': 'See this connected account',
  'accounts:write': 'Change or disconnect this connected account',
  proxy: 'Call the provider on your behalf with this account',
  offline_access: 'Keep access when you are not using the app',
};

export interface ConsentView {
  handle: string;
  appName: string;
  providerName: string;
  accountLabel: string;
  scopes: string[];
  /** What the consent page's CSP form-action must allow: the redirect URI's origin (or scheme). */
  redirectSource: string;
  /** Set when the page shows in the authenticator's popup. */
  popup: PopupTarget | undefined;
}

async function connected(services: Services, request: PendingRequest) {
  if (!request.connected_account_id) fail(ErrorCode.invalidRequest, 'no account was connected for this request yet');
  const account = await findAccount(services.db, request.app_id, request.connected_account_id!);
  const app = await findAppById(services.db, request.app_id);
  if (!account || !app) return fail(ErrorCode.invalidState, 'this authorization request is no longer valid');
  return { account, app };
}

export function redirectSource(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.origin !== 'null' ? url.origin : url.protocol;
}

/** What the consent page shows: who asks, for which account, for what. */
export async function consentView(services: Services, handle: string | undefined, binding: string | undefined): Promise<ConsentView> {
  const request = await pendingRequest(services, handle, binding);
  const { account, app } = await connected(services, request);
  const entry = services.catalog.get(account.provider);
  const providerName = entry?.name ?? account.provider;
  const scope = splitScope(request.scope);
  const rights = [...parseScope(services.catalog, scope).rights].map((r) => RIGHT_WORDS[r] ?? r);
  return {
    handle: handle!,
    appName: app.name,
    providerName,
    accountLabel: [account.name, account.email].filter(Boolean).join(' · ') || account.upstream_subject,
    scopes: rights.length > 0 ? rights : [`Use your ${providerName} account`],
    redirectSource: redirectSource(request.redirect_uri),
    popup: popupTarget(services, request.redirect_uri),
  };
}

/**
 * POST /oauth/consent: the request is used up either way. Allow creates a grant and a one-time
 * code (stored hashed, 60 s, bound to client, redirect URI and PKCE challenge).
 */
export async function decideConsent(services: Services, handle: string | undefined, binding: string | undefined, decision: string | undefined): Promise<string> {
  const request = await pendingRequest(services, handle, binding);
  const { db, clock, config } = services;
  const account = decision === 'allow' ? (await connected(services, request)).account : null;
  const taken = await db.deleteFrom('authorization_requests').where('id', '=', request.id).executeTakeFirst();
  if (Number(taken.numDeletedRows) !== 1) fail(ErrorCode.invalidState, 'this authorization request was already answered');
  if (!account) {
    return errorRedirect(services, request.redirect_uri, request.state, new GatehouseError(ErrorCode.accessDenied, 'the user did not allow access'));
  }
  const now = clock();
  const grantId = newId('grt');
  const code = mintToken('authorizationCode');
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('grants')
      .values({ id: grantId, app_id: request.app_id, account_id: account.id, end_user_id: request.end_user_id ?? account.end_user_id, scope: request.scope, created_at: now, revoked_at: null })
      .execute();
    await trx
      .insertInto('authorization_codes')
      .values({
        id: tokenKey(code),
        app_id: request.app_id,
        grant_id: grantId,
        redirect_uri: request.redirect_uri,
        code_challenge: request.code_challenge,
        nonce: null,
        expires_at: now + AUTHORIZATION_CODE_TTL_MS,
        used_at: null,
        created_at: now,
      })
      .execute();
  });
  await recordAudit(db, { id: newId('aud'), appId: request.app_id, actor: account.end_user_id ? `end_user:${account.end_user_id}` : 'end_user', action: 'grant.created', subject: grantId, detail: { account: account.id }, at: now });
  return redirectWith(request.redirect_uri, { code, state: request.state, iss: config.baseUrl });
}
