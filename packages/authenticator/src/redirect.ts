import { finish, type PendingFlow } from './exchange.ts';
import { codeChallenge, randomValue } from './pkce.ts';
import { authorizeUrl } from './popup.ts';
import type { AuthenticatorOptions, AuthResult } from './types.ts';

const STORAGE_KEY = 'gatehouse:redirect';

/**
 * Redirect mode: keeps the flow (state, PKCE verifier) in sessionStorage and sends the whole page
 * to /oauth/authorize; Gatehouse comes back to `redirect_uri`, where `handleRedirect` finishes.
 */
export async function startRedirect(baseUrl: string, options: AuthenticatorOptions): Promise<void> {
  if (!options.redirect_uri) throw new Error('Gatehouse: redirect mode needs redirect_uri (a redirect URI registered for the app)');
  const flow: PendingFlow = {
    baseUrl,
    clientId: options.client_id,
    redirectUri: options.redirect_uri,
    state: randomValue(),
    verifier: randomValue(48),
    response: options.response ?? 'token',
  };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(flow));
  const challenge = await codeChallenge(flow.verifier);
  window.location.assign(authorizeUrl(baseUrl, options, { state: flow.state, challenge, redirectUri: flow.redirectUri }));
}

/**
 * On the page at redirect_uri: finishes a redirect-mode flow started in this tab. Resolves to
 * undefined when the page was not reached from one; removes the response from the address bar.
 */
export async function handleRedirect(): Promise<AuthResult | undefined> {
  const saved = sessionStorage.getItem(STORAGE_KEY);
  const params = new URLSearchParams(window.location.search);
  if (!params.has('state') && !params.has('code') && !params.has('error')) return undefined;
  if (!saved) return { error: 'invalid_state', error_description: 'no connection was started from this tab' };
  sessionStorage.removeItem(STORAGE_KEY);
  const flow = JSON.parse(saved) as PendingFlow;
  const response: Record<string, string> = {};
  for (const key of ['code', 'state', 'iss', 'error', 'error_description']) {
    const value = params.get(key);
    if (value !== null) response[key] = value;
    params.delete(key);
  }
  const rest = params.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${rest ? `?${rest}` : ''}${window.location.hash}`);
  return finish(flow, response);
}
