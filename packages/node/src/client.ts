import { accountsApi, connectSessionsApi, proxyFetch, type AccountsApi } from './accounts.ts';
import { codes, processingError } from './errors.ts';
import type { Fetch, Transport } from './http.ts';
import {
  authorizationCodeGrant,
  authorizeUrl,
  discover,
  refreshTokenGrant,
  revocation,
  validateAuthorizationResponse,
  verifyAccessToken,
  type AuthorizationServerMetadata,
  type AuthorizeOptions,
  type CallbackQuery,
  type TokenInfo,
  type TokenSet,
} from './oauth.ts';
import { verifyWebhook, type HeaderBag, type VerifyOptions, type WebhookEvent } from './webhooks.ts';

export interface GatehouseOptions {
  /** Where Gatehouse is, e.g. `https://gatehouse.example` (its issuer). */
  baseUrl: string;
  clientId: string;
  /** Confidential apps; a public app (PKCE only) leaves it out. */
  clientSecret?: string;
  /** The default redirect URI (must be one registered for the app, exactly). */
  redirectUri?: string;
  /** The app's API key (`ghk_…`) for the accounts API, connect sessions and the proxy. */
  apiKey?: string;
  /** A fetch to use instead of the global one. */
  fetch?: Fetch;
}

/** A handle on one connected account, for calls through the proxy. */
export interface AccountHandle {
  id: string;
  /**
   * Calls the provider's API as this account: `path` is appended to the provider's API base URL.
   * Returns the provider's answer (any status); throws ResponseBodyError when Gatehouse refuses.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * Gatehouse for an app's backend: the server-side authorization flow (Flux style), token
 * verification, the accounts API and the provider proxy, and webhook verification.
 */
export class Gatehouse {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly accounts: AccountsApi;
  readonly connectSessions: ReturnType<typeof connectSessionsApi>;
  readonly webhooks = {
    /** Verifies a delivery's signature and age and returns its event; throws WebhookVerificationError otherwise. */
    verify: (body: string | Uint8Array, headers: HeaderBag, options: VerifyOptions): WebhookEvent => verifyWebhook(body, headers, options),
  };
  readonly #options: GatehouseOptions;
  readonly #transport: Transport;
  #metadata: Promise<AuthorizationServerMetadata> | undefined;

  constructor(options: GatehouseOptions) {
    if (!options?.baseUrl || !options.clientId) processingError(codes.INVALID_ARGUMENT, 'baseUrl and clientId are required');
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch (err) {
      throw processingError(codes.INVALID_ARGUMENT, 'baseUrl is not a URL', err);
    }
    this.baseUrl = base.href.replace(/\/+$/, '');
    this.clientId = options.clientId;
    this.#options = options;
    this.#transport = { baseUrl: this.baseUrl, fetch: options.fetch ?? ((input, init) => fetch(input, init)) };
    const apiKey = () => options.apiKey ?? processingError(codes.INVALID_ARGUMENT, 'this call needs the app API key: pass apiKey to new Gatehouse()');
    this.accounts = accountsApi(this.#transport, apiKey);
    this.connectSessions = connectSessionsApi(this.#transport, apiKey);
  }

  /** Gatehouse's RFC 8414 metadata, fetched once (its issuer checked against baseUrl). */
  metadata(): Promise<AuthorizationServerMetadata> {
    this.#metadata ??= discover(this.#transport).catch((err: unknown) => {
      this.#metadata = undefined;
      throw err;
    });
    return this.#metadata;
  }

  /**
   * Where to send the user's browser to connect an account and consent. Keep `state` and `nonce`
   * in the user's session (both from `generateState()` / `generateNonce()`); `nonce` is the PKCE
   * verifier, only its SHA-256 goes into the URL.
   */
  getAuthorizeUrl(state: string, nonce: string, options: AuthorizeOptions = {}): string {
    return authorizeUrl(this.#transport, this.#options, state, nonce, options);
  }

  /**
   * At the redirect URI: checks the response (`iss`, `state`, then `error`) and exchanges the code
   * (with the nonce as PKCE verifier and the client secret) for tokens bound to the connected account.
   */
  async exchangeCredentials(state: string, nonce: string, query: CallbackQuery, options: { redirectUri?: string } = {}): Promise<TokenSet> {
    const code = validateAuthorizationResponse(await this.metadata(), query, state);
    return authorizationCodeGrant(this.#transport, this.#options, code, nonce, options.redirectUri ?? this.#options.redirectUri);
  }

  /**
   * Refuses an access token that was not minted for this app (the confused-deputy check) or,
   * with `accountId`, that does not reach that account. Returns what Gatehouse knows of it.
   */
  verifyToken(token: string, options: { accountId?: string } = {}): Promise<TokenInfo> {
    return verifyAccessToken(this.#transport, this.clientId, token, options.accountId);
  }

  /** New tokens for a refresh token; the refresh token rotates: store the new one. */
  refresh(refreshToken: string, options: { scope?: string } = {}): Promise<TokenSet> {
    return refreshTokenGrant(this.#transport, this.#options, refreshToken, options.scope);
  }

  /** Revokes an access token, or a refresh token and its whole grant. */
  revoke(token: string, options: { hint?: 'access_token' | 'refresh_token' } = {}): Promise<void> {
    return revocation(this.#transport, this.#options, token, options.hint);
  }

  /** One account, for proxy calls with the app's API key or an access token bound to it. */
  account(id: string, options: { accessToken?: string } = {}): AccountHandle {
    const credential = () =>
      options.accessToken ?? this.#options.apiKey ?? processingError(codes.INVALID_ARGUMENT, 'proxy calls need an accessToken or the app API key');
    return { id, fetch: (path, init) => proxyFetch(this.#transport, id, credential(), path, init) };
  }
}
