import * as oauth from 'oauth4webapi';
import type { Upstream } from './upstream.ts';
import { ErrorCode, GatehouseError } from '../errors.ts';

export interface Identity {
  subject: string;
  email: string | null;
  name: string | null;
}

/** Reads `a.b.c` from a JSON document. */
export function readPath(document: unknown, path: string): unknown {
  let value: unknown = document;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const asText = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null;

function fromDocument(upstream: Upstream, document: unknown): Identity {
  const rule = upstream.entry.identity;
  const subject = asText(readPath(document, rule.id));
  if (!subject) {
    throw new GatehouseError(ErrorCode.upstreamError, `the provider's identity has no "${rule.id}"`);
  }
  return {
    subject,
    email: rule.email ? asText(readPath(document, rule.email)) : null,
    name: rule.name ? asText(readPath(document, rule.name)) : null,
  };
}

/** Who the connected account is, read as the provider's entry says (ID token, userinfo or a profile API). */
export async function readIdentity(upstream: Upstream, tokens: oauth.TokenEndpointResponse): Promise<Identity> {
  const { entry, server } = upstream;
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  const userinfo = async () => {
    const response = await oauth.userInfoRequest(server.as, upstream.client, tokens.access_token, upstream.requestOptions());
    return oauth.processUserInfoResponse(server.as, upstream.client, claims?.sub ?? oauth.skipSubjectCheck, response);
  };
  if (entry.identity.source === 'id_token') {
    if (!claims) throw new GatehouseError(ErrorCode.upstreamError, 'the provider returned no ID token');
    const identity = fromDocument(upstream, claims);
    // Providers that issue an access token often keep email and name out of the ID token
    // (OIDC Core 5.4); userinfo, checked against the same subject, fills them in.
    const incomplete = (entry.identity.email && !identity.email) || (entry.identity.name && !identity.name);
    if (!incomplete || !server.as.userinfo_endpoint) return identity;
    const more = fromDocument(upstream, await userinfo());
    return { subject: identity.subject, email: identity.email ?? more.email, name: identity.name ?? more.name };
  }
  if (entry.identity.source === 'userinfo') return fromDocument(upstream, await userinfo());
  const headers = new Headers({ accept: 'application/json', ...entry.identity.headers });
  const response = await oauth.protectedResourceRequest(
    tokens.access_token,
    entry.identity.method ?? 'GET',
    new URL(server.profileUrl!),
    headers,
    null,
    upstream.requestOptions(),
  );
  if (!response.ok) {
    throw new GatehouseError(ErrorCode.upstreamError, `the provider's profile endpoint answered HTTP ${response.status}`);
  }
  let document: unknown;
  try {
    document = await response.json();
  } catch {
    throw new GatehouseError(ErrorCode.upstreamError, "the provider's profile endpoint did not answer JSON");
  }
  return fromDocument(upstream, document);
}
