import { startConnect } from '../connect/index.ts';
import { ErrorCode, fail, GatehouseError } from '../errors.ts';
import type { Services } from '../services.ts';
import { findAccount, findAppById, fromJson, listIntegrations, toJson, type AuthorizationRequestsTable } from '../store/index.ts';
import { randomValue, safeEqual, tokenKey } from '../vault/index.ts';
import { toAppView, type AppView } from './apps.ts';
import { parseRelayUri, relayUriFits } from './relay.ts';
import { grantableScope, parseScope } from './scopes.ts';
import { readConnectSession } from './sessions.ts';

export const AUTHORIZATION_REQUEST_TTL_MS = 10 * 60 * 1000;
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/; // RFC 7636 §4.1/§4.2 unreserved characters

/** The query of GET /oauth/authorize (RFC 6749 §4.1.1, RFC 7636 §4.3, plus Gatehouse's own). */
export interface AuthorizeParams {
  response_type?: string | undefined;
  client_id?: string | undefined;
  redirect_uri?: string | undefined;
  scope?: string | undefined;
  state?: string | undefined;
  code_challenge?: string | undefined;
  code_challenge_method?: string | undefined;
  session_token?: string | undefined;
  provider?: string | undefined;
  login_hint?: string | undefined;
  account_id?: string | undefined;
}

export type AuthorizeOutcome =
  | { kind: 'chooser'; handle: string; binding: string; appName: string; providers: { id: string; name: string }[]; popup: PopupTarget | undefined }
  | { kind: 'redirect'; url: string; binding?: undefined };

export type PendingRequest = AuthorizationRequestsTable;

/** Who opened the authenticator's popup, for the heartbeats of the pages shown in it. */
export interface PopupTarget {
  origin: string;
  rid: string;
}

/** The popup context of a request that returns to the authenticator's relay page, else undefined. */
export function popupTarget(services: Services, redirectUri: string): PopupTarget | undefined {
  const target = parseRelayUri(services.config.baseUrl, redirectUri);
  return target ? { origin: target.origin, rid: target.rid } : undefined;
}

/** redirect_uri with the response parameters added to its query (RFC 6749 §4.1.2, RFC 9207 `iss`). */
export function redirectWith(redirectUri: string, params: Record<string, string | null | undefined>): string {
  const url = new URL(redirectUri);
  for (const [key, value] of Object.entries(params)) if (value !== null && value !== undefined) url.searchParams.append(key, value);
  return url.href;
}

const REDIRECTABLE = new Set<string>([ErrorCode.invalidRequest, ErrorCode.unsupportedResponseType, ErrorCode.invalidScope, ErrorCode.accessDenied, ErrorCode.unauthorizedClient, ErrorCode.serverError]);
/** RFC 6749 §4.1.2.1 names for the failures that are the upstream's, not the app's. */
const UPSTREAM: Record<string, string> = { [ErrorCode.upstreamError]: 'server_error', [ErrorCode.upstreamUnavailable]: 'temporarily_unavailable', [ErrorCode.invalidState]: 'access_denied' };

/** An error sent back to the app's redirect URI: only after the client and redirect URI are known good. */
export function errorRedirect(services: Services, redirectUri: string, state: string | null | undefined, err: GatehouseError): string {
  const code = REDIRECTABLE.has(err.code) ? err.code : (UPSTREAM[err.code] ?? ErrorCode.invalidRequest);
  return redirectWith(redirectUri, { error: code, error_description: err.description, state, iss: services.config.baseUrl });
}

/** The client and its exact redirect URI. Any failure here is shown as a page, never redirected (open redirect). */
async function checkClient(services: Services, params: AuthorizeParams): Promise<{ app: AppView; redirectUri: string }> {
  const row = params.client_id ? await findAppById(services.db, params.client_id) : undefined;
  if (!row) return fail(ErrorCode.invalidRequest, 'this app is unknown (client_id); go back to the app and start again');
  const app = toAppView(row);
  if (params.redirect_uri === undefined) {
    if (app.redirectUris.length !== 1) fail(ErrorCode.invalidRequest, 'redirect_uri is required: this app has several');
    return { app, redirectUri: app.redirectUris[0]! };
  }
  if (!app.redirectUris.includes(params.redirect_uri) && !relayUriFits(services.config.baseUrl, app, params.redirect_uri)) {
    fail(ErrorCode.invalidRequest, 'redirect_uri is not registered for this app');
  }
  return { app, redirectUri: params.redirect_uri };
}

function checkPkce(app: AppView, params: AuthorizeParams): string | null {
  const { code_challenge: challenge, code_challenge_method: method } = params;
  if (challenge === undefined) {
    if (method !== undefined) fail(ErrorCode.invalidRequest, 'code_challenge_method without code_challenge');
    if (app.clientType === 'public') fail(ErrorCode.invalidRequest, 'a public client must use PKCE (code_challenge with S256)');
    return null;
  }
  if (method !== 'S256') fail(ErrorCode.invalidRequest, 'code_challenge_method must be S256');
  if (!PKCE_VALUE.test(challenge)) fail(ErrorCode.invalidRequest, 'code_challenge must be 43 to 128 unreserved characters');
  return challenge;
}

/** The providers this request lets the end user connect: scope ∩ integrations ∩ session ∩ provider ∩ account. */
async function candidateProviders(services: Services, app: AppView, scope: string[], params: AuthorizeParams, allowed: string[] | null) {
  const named = parseScope(services.catalog, scope).providers;
  let ids = (await listIntegrations(services.db, app.id)).map((i) => i.provider).filter((id) => named.size === 0 || named.has(id));
  if (allowed) ids = ids.filter((id) => allowed.includes(id));
  if (params.provider !== undefined) ids = ids.filter((id) => id === params.provider);
  if (params.account_id !== undefined) {
    const account = await findAccount(services.db, app.id, params.account_id);
    if (!account) fail(ErrorCode.invalidRequest, 'account_id is not an account of this app');
    ids = ids.filter((id) => id === account!.provider);
  }
  if (ids.length === 0) fail(ErrorCode.invalidRequest, 'no provider this app may connect fits this request');
  return ids;
}

/**
 * GET /oauth/authorize: validates the request and keeps it server-side, bound to the browser
 * (`binding`, the cookie value; a new one is minted when the browser has none).
 */
export async function authorize(services: Services, params: AuthorizeParams, existingBinding: string | undefined): Promise<AuthorizeOutcome> {
  const { app, redirectUri } = await checkClient(services, params);
  const state = params.state ?? null;
  try {
    if (params.response_type === undefined) fail(ErrorCode.invalidRequest, 'response_type is required');
    if (params.response_type !== 'code') fail(ErrorCode.unsupportedResponseType, 'only response_type=code is supported');
    const challenge = checkPkce(app, params);
    const scope = grantableScope(app, params.scope);
    const session = params.session_token ? await readConnectSession(services, app.id, params.session_token) : null;
    const providers = await candidateProviders(services, app, scope, params, session?.allowedProviders ?? null);
    const handle = randomValue();
    const binding = existingBinding && existingBinding.length >= 32 ? existingBinding : randomValue();
    const now = services.clock();
    await services.db
      .insertInto('authorization_requests')
      .values({
        id: tokenKey(handle),
        app_id: app.id,
        redirect_uri: redirectUri,
        state,
        code_challenge: challenge,
        scope: scope.join(' '),
        providers: toJson(providers),
        end_user_id: session?.endUserId ?? null,
        login_hint: params.login_hint ?? null,
        account_id: params.account_id ?? null,
        connected_account_id: null,
        browser_binding: tokenKey(binding),
        expires_at: now + AUTHORIZATION_REQUEST_TTL_MS,
        created_at: now,
      })
      .execute();
    const named = providers.map((id) => ({ id, name: services.catalog.get(id)?.name ?? id }));
    return { kind: 'chooser', handle, binding, appName: app.name, providers: named, popup: popupTarget(services, redirectUri) };
  } catch (err) {
    if (err instanceof GatehouseError) return { kind: 'redirect', url: errorRedirect(services, redirectUri, state, err) };
    throw err;
  }
}

/** The live pending request a handle names, presented by the browser that started it. */
export async function pendingRequest(services: Services, handle: string | undefined, binding: string | undefined): Promise<PendingRequest> {
  const row = handle ? await services.db.selectFrom('authorization_requests').selectAll().where('id', '=', tokenKey(handle)).executeTakeFirst() : undefined;
  if (!row || row.expires_at <= services.clock()) return fail(ErrorCode.invalidState, 'this authorization request is unknown, used or expired');
  if (!binding || !safeEqual(tokenKey(binding), row.browser_binding)) {
    return fail(ErrorCode.accessDenied, 'this authorization was started in another browser; go back to the app and start again');
  }
  return row;
}

/** From the chooser (or straight from authorize) to the upstream sign-in for one provider. */
export async function connectForRequest(services: Services, handle: string, binding: string | undefined, provider: string): Promise<{ url: string }> {
  const request = await pendingRequest(services, handle, binding);
  if (!fromJson<string[]>(request.providers, []).includes(provider)) fail(ErrorCode.invalidRequest, `"${provider}" is not offered for this request`);
  return startConnect(services, {
    appId: request.app_id,
    provider,
    endUserId: request.end_user_id,
    accountId: request.account_id,
    loginHint: request.login_hint ?? undefined,
    context: { authorizationRequest: handle },
  });
}

/** The handle a finished connect carries back, when it was started by /oauth/authorize. */
export function authorizationRequestOf(context: unknown): string | undefined {
  const value = (context as { authorizationRequest?: unknown } | null)?.authorizationRequest;
  return typeof value === 'string' ? value : undefined;
}

/** After the upstream sign-in: the account it produced joins the pending request. */
export async function attachAccount(services: Services, handle: string, account: { id: string; app_id: string; provider: string }): Promise<void> {
  const row = await services.db.selectFrom('authorization_requests').selectAll().where('id', '=', tokenKey(handle)).executeTakeFirst();
  if (!row || row.expires_at <= services.clock()) fail(ErrorCode.invalidState, 'this authorization request expired; go back to the app and start again');
  if (row!.app_id !== account.app_id || !fromJson<string[]>(row!.providers, []).includes(account.provider)) {
    fail(ErrorCode.invalidRequest, 'the connected account does not fit this authorization request');
  }
  await services.db.updateTable('authorization_requests').set({ connected_account_id: account.id }).where('id', '=', row!.id).execute();
}

/**
 * The upstream sign-in of a pending request failed (denied, or the provider erred): the request
 * is used up and the app hears about it at its redirect URI. Undefined when the request is gone.
 */
export async function abandonAuthorization(services: Services, handle: string, err: GatehouseError): Promise<string | undefined> {
  const row = await services.db.deleteFrom('authorization_requests').where('id', '=', tokenKey(handle)).returningAll().executeTakeFirst();
  if (!row || row.expires_at <= services.clock()) return undefined;
  return errorRedirect(services, row.redirect_uri, row.state, err);
}
