import type { AuthResult } from './types.ts';

/** The authorization response as Gatehouse sent it to the relay page or the redirect URI. */
export interface AuthorizationResponse {
  code?: string;
  state?: string;
  iss?: string;
  error?: string;
  error_description?: string;
}

export interface PendingFlow {
  baseUrl: string;
  clientId: string;
  redirectUri: string;
  state: string;
  verifier: string;
  response: 'token' | 'code';
}

const fault = (description: string): AuthResult => ({ error: 'server_error', error_description: description });

/**
 * Checks an authorization response against its request (state, RFC 9207 `iss`), then exchanges the
 * code with the PKCE verifier at /oauth/token (public app), or hands the code over (`response: "code"`).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 */
export async function finish(flow: PendingFlow, response: AuthorizationResponse): Promise<AuthResult> {
  if (response.state !== flow.state) return { error: 'invalid_state', error_description: 'the response does not carry the state of this request' };
  if (response.iss !== undefined && response.iss !== flow.baseUrl) return { error: 'invalid_state', error_description: 'the response comes from another issuer' };
  if (response.error) {
    const error = response.error === 'access_denied' ? 'access_denied' : 'server_error';
    return { error, error_description: response.error_description ?? response.error, state: flow.state };
  }
  if (!response.code) return fault('the response carries no code');
  if (flow.response === 'code') return { code: response.code, state: flow.state, code_verifier: flow.verifier, redirect_uri: flow.redirectUri };
  let answer: Response;
  try {
    answer = await fetch(`${flow.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: response.code,
        redirect_uri: flow.redirectUri,
        client_id: flow.clientId,
        code_verifier: flow.verifier,
      }),
      credentials: 'omit',
    });
  } catch {
    return fault('Gatehouse could not be reached to finish the connection');
  }
  const body = (await answer.json().catch(() => ({}))) as Record<string, unknown>;
  if (!answer.ok || typeof body.access_token !== 'string') {
    return fault(typeof body.error_description === 'string' ? body.error_description : `the token request failed (${answer.status})`);
  }
  return { ...(body as AuthResult), state: flow.state };
}
