/** Options of `Gatehouse.authenticator(element, options, callback)` (Kloudless Authenticator's names). */
export interface AuthenticatorOptions {
  /** The app's client_id at Gatehouse. */
  client_id: string;
  /** Gatehouse scope, e.g. `storage` or `sandbox accounts:read`; the app's defaults when left out. */
  scope?: string;
  /** Redirect mode only: the app's own registered redirect URI. Popups return to Gatehouse's relay page. */
  redirect_uri?: string;
  /** A connect session token (`ghs_…`) the app's backend created for this end user. */
  session_token?: string;
  /** Skip the chooser: connect this provider id. */
  provider?: string;
  login_hint?: string;
  /** More query parameters for /oauth/authorize. */
  extra_params?: Record<string, string>;
  /** `token` (default, public apps): the library exchanges the code. `code`: hand `{code, state, code_verifier, redirect_uri}` to the page (confidential apps). */
  response?: 'token' | 'code';
  /** `popup` (default) or `redirect` (the whole page goes to Gatehouse and comes back to redirect_uri). */
  mode?: 'popup' | 'redirect';
  /**
   * Popup mode: how long to wait, once the popup reads as closed while it was on a provider's page,
   * before reporting `popup_closed` (a provider's Cross-Origin-Opener-Policy makes an open popup
   * read as closed). Default 120000 ms.
   */
  popup_timeout?: number;
}

export interface ConnectedAccount {
  id: string;
  provider: string;
  name: string | null;
  email: string | null;
}

/** What the callback receives: the connection, or `{error}`. */
export interface AuthResult {
  account?: ConnectedAccount;
  access_token?: string;
  refresh_token?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  state?: string;
  /**
   * With `response: "code"`: what the app's backend sends to /oauth/token with its client secret
   * (the code is bound to this PKCE verifier and redirect URI).
   */
  code?: string;
  code_verifier?: string;
  redirect_uri?: string;
  error?: 'access_denied' | 'popup_blocked' | 'popup_closed' | 'invalid_state' | 'server_error';
  error_description?: string;
}

export type Callback = (result: AuthResult) => void;

export interface GlobalOptions {
  /** Gatehouse's URL, e.g. https://gatehouse.example.com (default: where this script was loaded from). */
  baseUrl?: string;
}
