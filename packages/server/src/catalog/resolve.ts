import * as oauth from 'oauth4webapi';
import { ISSUER_FROM_INTEGRATION } from './loader.ts';
import type { ProviderEntry } from './schema.ts';

/** What an integration adds to its provider entry: the generic OIDC issuer, template values. */
export interface ServerSettings {
  issuer?: string | undefined;
  templateValues?: Record<string, string> | undefined;
  allowInsecure: boolean;
}

/** The provider's endpoints with templates filled in, as oauth4webapi's AuthorizationServer. */
export interface ResolvedServer {
  as: oauth.AuthorizationServer;
  /** Whether the ID token is the identity source and a nonce is sent. */
  oidc: boolean;
  profileUrl: string | undefined;
  proxyBaseUrl: string | undefined;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

// A value may only name a host part: DNS labels joined by dots, nothing that could end the host.
const TEMPLATE_VALUE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Replaces `{name}` placeholders, refusing values that could change more than a host label. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-zA-Z][a-zA-Z0-9_]*)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new TemplateError(`missing value for {${name}}`);
    if (!TEMPLATE_VALUE.test(value)) throw new TemplateError(`"${name}" must be a host name label such as "my-shop"`);
    return value.toLowerCase();
  });
}

const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const discoveryCache = new Map<string, { at: number; as: oauth.AuthorizationServer }>();

async function discover(issuer: string, allowInsecure: boolean): Promise<oauth.AuthorizationServer> {
  const cached = discoveryCache.get(issuer);
  if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.as;
  const url = new URL(issuer);
  const response = await oauth.discoveryRequest(url, {
    algorithm: 'oidc',
    [oauth.allowInsecureRequests]: allowInsecure,
    signal: AbortSignal.timeout(10_000),
  });
  const as = await oauth.processDiscoveryResponse(url, response);
  discoveryCache.set(issuer, { at: Date.now(), as });
  return as;
}

/** Builds the authorization server description of an entry, by OIDC discovery where it has an issuer. */
export async function resolveServer(entry: ProviderEntry, settings: ServerSettings): Promise<ResolvedServer> {
  const values = settings.templateValues ?? {};
  const fill = (url: string | undefined) => (url === undefined ? undefined : fillTemplate(url, values));
  let issuer = entry.issuer === ISSUER_FROM_INTEGRATION ? settings.issuer : fill(entry.issuer);
  if (entry.issuer === ISSUER_FROM_INTEGRATION && !issuer) {
    throw new TemplateError(`provider "${entry.id}" needs an issuer in its integration (--issuer)`);
  }
  let as: oauth.AuthorizationServer;
  if (issuer) {
    const discovered = await discover(issuer, settings.allowInsecure);
    as = {
      ...discovered,
      authorization_endpoint: fill(entry.authorizationUrl) ?? discovered.authorization_endpoint,
      token_endpoint: fill(entry.tokenUrl) ?? discovered.token_endpoint,
      revocation_endpoint: fill(entry.revocationUrl) ?? discovered.revocation_endpoint,
      userinfo_endpoint: fill(entry.userinfoUrl) ?? discovered.userinfo_endpoint,
    };
  } else {
    const authorization = fill(entry.authorizationUrl)!;
    // A plain OAuth 2.0 provider has no issuer identifier; its authorization origin stands in for
    // one (and is what an RFC 9207 `iss` from it would name).
    issuer = new URL(authorization).origin;
    as = {
      issuer,
      authorization_endpoint: authorization,
      token_endpoint: fill(entry.tokenUrl),
      revocation_endpoint: fill(entry.revocationUrl),
      userinfo_endpoint: fill(entry.userinfoUrl),
    };
  }
  return {
    as,
    oidc: entry.identity.source === 'id_token',
    profileUrl: fill(entry.identity.url),
    proxyBaseUrl: fill(entry.proxy?.baseUrl),
  };
}
