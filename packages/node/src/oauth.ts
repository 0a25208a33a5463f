import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthorizationResponseError, codes, processingError } from './errors.ts';
import { bearer, formRequest, readJson, type Transport } from './http.ts';

/** The client this SDK speaks for. */
export interface ClientConfig {
  clientId: string;
  /** Confidential apps only; a public app (PKCE, no secret) leaves it out. */
  clientSecret?: string;
  redirectUri?: string;
}

/** RFC 8414 metadata, the fields the SDK reads. */
export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  revocation_endpoint?: string;
  authorization_response_iss_parameter_supported?: boolean;
  [field: string]: unknown;
}

/** The account an authorization-code token is bound to. */
export interface TokenAccount {
  id: string;
  provider: string;
  name: string | null;
  email: string | null;
}

/** RFC 6749 §5.1 token response as Gatehouse sends it (wire names). */
export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  /** Only when `offline_access` was granted. */
  refresh_token?: string;
  /** Authorization-code tokens: the connected account they reach. */
  account?: TokenAccount;
  created_at?: number;
}

/** What `GET /v1/oauth/token` says about a valid access token. */
export interface TokenInfo {
  client_id: string;
  account_id: string | null;
  scope: string;
  expires_at: string;
}

export interface AuthorizeOptions {
  /** Space-separated Gatehouse scope, e.g. `"storage proxy offline_access"`; the app's default scopes when left out. */
  scope?: string;
  redirectUri?: string;
  /** Narrow the chooser to one provider (id or alias). */
  provider?: string;
  /** Passed to the provider's sign-in. */
  loginHint?: string;
  /** A connect session (`ghs_…`) from `connectSessions.create`: the account lands on that end user. */
  sessionToken?: string;
  /** Reconnect this account. */
  accountId?: string;
  extraParams?: Record<string, string>;
}

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** A random value for `state` or `nonce` (256 bits, base64url: 43 characters, a valid PKCE verifier). */
export const generateRandom = (): string => randomBytes(32).toString('base64url');

/**
 * The PKCE S256 challenge of a verifier.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 */
export const pkceChallenge = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');

const sameString = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * The authorization request URL (RFC 6749 §4.1.1 + PKCE). `nonce` is the PKCE `code_verifier`:
 * only its S256 challenge is in the URL, and `exchangeCredentials` sends it with the code, so a
 * code stolen from this redirect is useless without the session that holds the nonce.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 */
export function authorizeUrl(transport: Transport, client: ClientConfig, state: string, nonce: string, options: AuthorizeOptions = {}): string {
  if (!state) processingError(codes.INVALID_ARGUMENT, 'state is required (one random value per sign-in, kept in the session)');
  if (!VERIFIER.test(nonce)) {
    processingError(codes.INVALID_ARGUMENT, 'nonce must be 43–128 characters of A-Z a-z 0-9 - . _ ~ (it is the PKCE code verifier); use generateNonce()');
  }
  const scope = options.scope?.split(' ').filter(Boolean) ?? [];
  if (scope.includes('openid')) {
    processingError(
      codes.UNSUPPORTED,
      'Gatehouse issues no ID tokens, so the "openid" scope is refused: leave it out. The connected account comes back in the token response (`account`) and from verifyToken().',
    );
  }
  const redirectUri = options.redirectUri ?? client.redirectUri;
  const url = new URL(`${transport.baseUrl}/oauth/authorize`);
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: redirectUri,
    scope: scope.length > 0 ? scope.join(' ') : undefined,
    state,
    code_challenge: pkceChallenge(nonce),
    code_challenge_method: 'S256',
    provider: options.provider,
    login_hint: options.loginHint,
    session_token: options.sessionToken,
    account_id: options.accountId,
    ...options.extraParams,
  };
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.href;
}

/** What a redirect back may look like: a query string, a full URL, URLSearchParams, or a framework's parsed query. */
export type CallbackQuery = string | URL | URLSearchParams | Record<string, string | string[] | undefined>;

function toParams(query: CallbackQuery): URLSearchParams {
  if (query instanceof URLSearchParams) return query;
  if (query instanceof URL) return query.searchParams;
  if (typeof query === 'string') return query.includes('://') ? new URL(query).searchParams : new URLSearchParams(query.replace(/^\?/, ''));
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) params.append(key, item);
  }
  return params;
}

/**
 * Checks the redirect back (RFC 9207 `iss`, then `state`, then `error`) and returns the code.
 * An `error` is only believed once `iss` and `state` match, so nobody can inject one.
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 */
export function validateAuthorizationResponse(metadata: AuthorizationServerMetadata, query: CallbackQuery, expectedState: string): string {
  const params = toParams(query);
  for (const key of ['iss', 'state', 'code', 'error']) {
    if (params.getAll(key).length > 1) processingError(codes.INVALID_PARAMETER, `"${key}" came more than once in the authorization response`);
  }
  const iss = params.get('iss');
  if (iss === null && metadata.authorization_response_iss_parameter_supported) {
    processingError(codes.ISSUER_MISMATCH, 'the authorization response has no "iss" though Gatehouse always sends one (RFC 9207)');
  }
  if (iss !== null && iss !== metadata.issuer) processingError(codes.ISSUER_MISMATCH, 'the authorization response comes from another issuer (RFC 9207 "iss")');
  const state = params.get('state');
  if (!expectedState || state === null || !sameString(state, expectedState)) {
    processingError(codes.STATE_MISMATCH, 'the authorization response\'s "state" is not this session\'s');
  }
  if (params.has('error')) throw new AuthorizationResponseError(params);
  const code = params.get('code');
  if (!code) return processingError(codes.INVALID_PARAMETER, 'the authorization response has no "code"');
  return code;
}

/** Client authentication at the token and revocation endpoints: `client_secret_basic`, or `none` for public apps. */
export function clientAuth(client: ClientConfig, form: URLSearchParams): Record<string, string> {
  if (!client.clientSecret) {
    form.set('client_id', client.clientId);
    return {};
  }
  // RFC 6749 §2.3.1: form-encode both parts before joining them
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return { authorization: `Basic ${Buffer.from(`${encode(client.clientId)}:${encode(client.clientSecret)}`).toString('base64')}` };
}

/**
 * Checks an RFC 6749 §5.1 answer from the token endpoint.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export async function processTokenResponse(response: Response): Promise<TokenSet> {
  const body = await readJson<Partial<TokenSet> | null>(response);
  if (!body || typeof body.access_token !== 'string' || !body.access_token) processingError(codes.INVALID_RESPONSE, 'the token response has no access_token');
  if (typeof body!.token_type !== 'string' || body!.token_type.toLowerCase() !== 'bearer') {
    processingError(codes.INVALID_RESPONSE, 'the token response is not a bearer token');
  }
  if (body!.refresh_token !== undefined && typeof body!.refresh_token !== 'string') processingError(codes.INVALID_RESPONSE, 'refresh_token is not a string');
  return body as TokenSet;
}

/**
 * Exchanges an authorization code (with the PKCE verifier) for tokens.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 */
export async function authorizationCodeGrant(transport: Transport, client: ClientConfig, code: string, verifier: string, redirectUri: string | undefined) {
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier });
  if (redirectUri) form.set('redirect_uri', redirectUri);
  return processTokenResponse(await formRequest(transport, '/oauth/token', form, clientAuth(client, form)));
}

/**
 * Uses a refresh token; Gatehouse rotates it, so keep the new `refresh_token` and drop the old one.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export async function refreshTokenGrant(transport: Transport, client: ClientConfig, refreshToken: string, scope?: string) {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  if (scope) form.set('scope', scope);
  return processTokenResponse(await formRequest(transport, '/oauth/token', form, clientAuth(client, form)));
}

/**
 * Revokes an access or refresh token (a refresh token ends its whole grant).
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export async function revocation(transport: Transport, client: ClientConfig, token: string, hint?: 'access_token' | 'refresh_token'): Promise<void> {
  const form = new URLSearchParams({ token });
  if (hint) form.set('token_type_hint', hint);
  const response = await formRequest(transport, '/oauth/revoke', form, clientAuth(client, form));
  if (response.status !== 200) await readJson(response);
  else await response.body?.cancel();
}

/**
 * Asks Gatehouse what an access token is (Kloudless-style verify endpoint) and refuses it unless
 * it was minted for `clientId` (and, when given, is bound to `accountId`): the confused-deputy check.
 */
export async function verifyAccessToken(transport: Transport, clientId: string, token: string, accountId?: string): Promise<TokenInfo> {
  const response = await transport.fetch(`${transport.baseUrl}/v1/oauth/token`, { headers: { authorization: bearer(token), accept: 'application/json' } });
  const info = await readJson<TokenInfo>(response);
  if (typeof info?.client_id !== 'string') processingError(codes.INVALID_RESPONSE, 'the verify answer has no client_id');
  if (info.client_id !== clientId) processingError(codes.CLIENT_MISMATCH, 'the access token was issued to another app');
  if (accountId !== undefined && info.account_id !== accountId) processingError(codes.ACCOUNT_MISMATCH, 'the access token is not for this account');
  return info;
}

/**
 * Fetches RFC 8414 metadata and checks that its issuer is the base URL it was fetched from.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3
 */
export async function discover(transport: Transport): Promise<AuthorizationServerMetadata> {
  const response = await transport.fetch(`${transport.baseUrl}/.well-known/oauth-authorization-server`, { headers: { accept: 'application/json' } });
  const metadata = await readJson<AuthorizationServerMetadata>(response);
  if (metadata?.issuer !== transport.baseUrl) processingError(codes.ISSUER_MISMATCH, `the metadata's issuer is not ${transport.baseUrl}`);
  return metadata;
}
