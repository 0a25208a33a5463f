import * as oauth from 'oauth4webapi';
import { ErrorCode, fail, GatehouseError } from '../errors.ts';
import type { Services } from '../services.ts';
import {
  findAccount,
  findAppById,
  findIntegration,
  fromJson,
  insertFlow,
  recordAudit,
  takeFlow,
  toJson,
  upsertAccount,
  type AccountRow,
  type ConnectFlowRow,
  type SealedTokens,
  type UpsertAccountInput,
} from '../store/index.ts';
import { newId, randomValue, tokenKey, type Vault } from '../vault/index.ts';
import { readIdentity } from './identity.ts';
import { templateValuesFor, upstreamFailure, upstreamFor } from './upstream.ts';

export const FLOW_TTL_MS = 10 * 60 * 1000;
export const CALLBACK_PATH = '/connect/callback';

export interface StartConnectInput {
  appId: string;
  provider: string;
  endUserId?: string | null | undefined;
  /** Reconnect this account (it must come back as the same upstream subject). */
  accountId?: string | null | undefined;
  templateValues?: Record<string, string> | undefined;
  loginHint?: string | undefined;
  /** Opaque to connect/: handed back by finishConnect so the caller can resume its own flow. */
  context?: unknown;
}

/** Starts the upstream authorization: keeps state, PKCE verifier and nonce server-side, returns where to send the browser. */
export async function startConnect(services: Services, input: StartConnectInput): Promise<{ url: string }> {
  const { db, vault, clock, config } = services;
  const app = (await findAppById(db, input.appId)) ?? fail(ErrorCode.invalidRequest, 'unknown app');
  const entry = services.catalog.get(input.provider) ?? fail(ErrorCode.notFound, `no provider "${input.provider}"`);
  if (input.accountId) {
    const account = await findAccount(db, app.id, input.accountId);
    if (!account || account.provider !== entry.id) fail(ErrorCode.invalidRequest, 'account_id is not an account of this app at this provider');
  }
  const integration =
    (await findIntegration(db, app.id, entry.id)) ?? fail(ErrorCode.invalidRequest, `this app has no integration for "${entry.id}"`);
  const templateValues = templateValuesFor(entry, integration, input.templateValues);
  const upstream = await upstreamFor(services, app.id, entry.id, templateValues);

  const state = randomValue();
  const verifier = oauth.generateRandomCodeVerifier();
  const nonce = upstream.server.oidc ? randomValue() : null;
  const id = tokenKey(state);
  const now = clock();
  await insertFlow(db, {
    id,
    app_id: app.id,
    provider: entry.id,
    code_verifier_sealed: vault.seal(verifier, { table: 'connect_flows', id, field: 'code_verifier' }),
    nonce,
    end_user_id: input.endUserId ?? null,
    account_id: input.accountId ?? null,
    template_values: toJson(templateValues),
    context: toJson(input.context ?? null),
    expires_at: now + FLOW_TTL_MS,
    created_at: now,
  });

  const url = new URL(upstream.server.as.authorization_endpoint!);
  const scopes = fromJson<string[] | null>(upstream.integration.scopes, null) ?? entry.scopes.default;
  const params: Record<string, string> = {
    ...entry.authorizationParams,
    response_type: 'code',
    client_id: upstream.client.client_id,
    redirect_uri: `${config.baseUrl}${CALLBACK_PATH}`,
    state,
  };
  if (scopes.length > 0) params.scope = scopes.join(entry.scopeSeparator ?? ' ');
  if (entry.pkce) {
    params.code_challenge = await oauth.calculatePKCECodeChallenge(verifier);
    params.code_challenge_method = 'S256';
  }
  if (nonce) params.nonce = nonce;
  if (input.loginHint) params.login_hint = input.loginHint;
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return { url: url.href };
}

export interface FinishConnectOptions {
  /** Runs in the transaction that saves the account (the caller's events commit with it). */
  within?: UpsertAccountInput['within'];
}

export interface ConnectResult {
  account: AccountRow;
  created: boolean;
  reconnected: boolean;
  context: unknown;
}

function sealer(vault: Vault, tokens: oauth.TokenEndpointResponse) {
  return (accountId: string): SealedTokens => {
    const seal = (value: string | undefined, field: string) =>
      value ? vault.seal(value, { table: 'account_tokens', id: accountId, field }) : null;
    return {
      access_token_sealed: seal(tokens.access_token, 'access_token'),
      refresh_token_sealed: seal(tokens.refresh_token, 'refresh_token'),
      id_token_sealed: seal(tokens.id_token, 'id_token'),
      token_type: tokens.token_type ?? 'bearer',
      expires_at: null,
    };
  };
}

/**
 * Completes a connect from the upstream's redirect: the flow is taken (single use), the
 * response, code exchange and ID token are validated by oauth4webapi, the identity is read and
 * the account upserted with its tokens sealed. Any failure creates nothing.
 */
export async function finishConnect(services: Services, callback: URLSearchParams, options: FinishConnectOptions = {}): Promise<ConnectResult> {
  const { db } = services;
  const state = callback.get('state');
  if (!state) fail(ErrorCode.invalidState, 'the provider came back without a state');
  const flow = (await takeFlow(db, tokenKey(state!))) ?? fail(ErrorCode.invalidState, 'this sign-in link is unknown or was already used');
  try {
    return await completeFlow(services, flow, state!, callback, options);
  } catch (err) {
    // the caller may resume its own flow with the failure (e.g. answer the app that started it)
    if (err instanceof GatehouseError) throw new ConnectFlowError(err, fromJson(flow.context, null));
    throw err;
  }
}

/** Carries a failed connect's context back to whoever started it; otherwise a GatehouseError like the one it wraps. */
export class ConnectFlowError extends GatehouseError {
  constructor(
    error: GatehouseError,
    readonly context: unknown,
  ) {
    super(error.code, error.description, { cause: error.cause ?? error });
  }
}

async function completeFlow(
  services: Services,
  flow: ConnectFlowRow,
  state: string,
  callback: URLSearchParams,
  options: FinishConnectOptions,
): Promise<ConnectResult> {
  const { db, vault, clock, config } = services;
  const now = clock();
  if (flow.expires_at <= now) fail(ErrorCode.invalidState, 'this sign-in took longer than 10 minutes and expired');
  const upstream = await upstreamFor(services, flow.app_id, flow.provider, fromJson(flow.template_values, {}));
  const { as } = upstream.server;
  const verifier = vault.open(flow.code_verifier_sealed, { table: 'connect_flows', id: flow.id, field: 'code_verifier' });

  let tokens: oauth.TokenEndpointResponse;
  try {
    const validated = oauth.validateAuthResponse(as, upstream.client, callback, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      upstream.client,
      upstream.clientAuth,
      validated,
      `${config.baseUrl}${CALLBACK_PATH}`,
      upstream.entry.pkce ? verifier : oauth.nopkce,
      upstream.requestOptions(),
    );
    tokens = await oauth.processAuthorizationCodeResponse(as, upstream.client, response, {
      expectedNonce: flow.nonce ?? oauth.expectNoNonce,
      requireIdToken: upstream.server.oidc,
      recognizedTokenTypes: Object.fromEntries((upstream.entry.extraTokenTypes ?? []).map((type) => [type, () => {}])),
    });
  } catch (err) {
    throw upstreamFailure('connecting the account failed', err);
  }
  const identity = await readIdentity(upstream, tokens).catch((err: unknown) => {
    throw upstreamFailure("reading the account's identity failed", err);
  });

  if (flow.account_id) {
    const previous = await findAccount(db, flow.app_id, flow.account_id);
    if (!previous || previous.upstream_subject !== identity.subject) {
      throw new GatehouseError(ErrorCode.accessDenied, 'you signed in as a different account than the one being reconnected');
    }
  }
  const seal = sealer(vault, tokens);
  const expiresAt = typeof tokens.expires_in === 'number' ? now + tokens.expires_in * 1000 : null;
  const { account, created } = await upsertAccount(db, {
    newId: newId('acc'),
    app_id: flow.app_id,
    provider: flow.provider,
    upstream_subject: identity.subject,
    end_user_id: flow.end_user_id,
    name: identity.name,
    email: identity.email,
    scope: tokens.scope ?? (fromJson<string[] | null>(upstream.integration.scopes, null) ?? upstream.entry.scopes.default).join(' '),
    template_values: flow.template_values,
    sealTokens: (id) => ({ ...seal(id), expires_at: expiresAt }),
    now,
    within: options.within,
  });
  await recordAudit(db, {
    id: newId('aud'),
    appId: flow.app_id,
    actor: flow.end_user_id ? `end_user:${flow.end_user_id}` : 'end_user',
    action: created ? 'account.connected' : 'account.reconnected',
    subject: account.id,
    detail: { provider: flow.provider },
    at: now,
  });
  return { account, created, reconnected: !created, context: fromJson(flow.context, null) };
}
