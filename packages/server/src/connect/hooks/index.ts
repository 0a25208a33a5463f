import { ErrorCode, GatehouseError } from '../../errors.ts';
import type { Upstream } from '../upstream.ts';

export interface RevokeInput {
  upstream: Upstream;
  accessToken: string | null;
  refreshToken: string | null;
  clientSecret: string;
}

/** A provider that revokes in its own way; named from the catalog entry's `hooks.revoke`. */
export type RevokeHook = (input: RevokeInput) => Promise<void>;


async function expectOk(response: Response, accept: number[] = []): Promise<void> {
  if (!response.ok && !accept.includes(response.status)) {
    throw new GatehouseError(ErrorCode.upstreamError, `the provider answered HTTP ${response.status}`);
  }
}

/** GitHub: DELETE /applications/{client_id}/grant, basic auth with the app's credentials. */
const github: RevokeHook = async ({ upstream, accessToken, clientSecret }) => {
  if (!accessToken) return;
  const clientId = upstream.client.client_id;
  const response = await fetch(`https://api.github.com/applications/${encodeURIComponent(clientId)}/grant`, {
    method: 'DELETE',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      accept: 'application/vnd.github+json',
      'content-type': 'application/json',
    },
    body: JSON.stringify({ access_token: accessToken }),
    signal: upstream.requestOptions().signal,
  });
  await expectOk(response, [404]);
};

/** Dropbox: POST /2/auth/token/revoke with the access token as bearer. */
const dropbox: RevokeHook = async ({ upstream, accessToken }) => {
  if (!accessToken) return;
  const response = await fetch('https://api.dropboxapi.com/2/auth/token/revoke', {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}` },
    signal: upstream.requestOptions().signal,
  });
  await expectOk(response, [401]);
};

export const REVOKE_HOOKS: Readonly<Record<string, RevokeHook>> = { github, dropbox };
