import * as oauth from 'oauth4webapi';
import { resolveServer, TemplateError, type ProviderEntry, type ResolvedServer } from '../catalog/index.ts';
import { ErrorCode, fail, GatehouseError } from '../errors.ts';
import type { Services } from '../services.ts';
import { findIntegration, fromJson, type IntegrationRow } from '../store/index.ts';
import { openClientSecret, type IntegrationSettings } from './integrations.ts';

export const UPSTREAM_TIMEOUT_MS = 15_000;

/** Everything needed to talk to one provider as one app's OAuth client. */
export interface Upstream {
  entry: ProviderEntry;
  integration: IntegrationRow;
  server: ResolvedServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  /** Options every oauth4webapi request gets: timeout, and http:// only in development. */
  requestOptions(): { signal: AbortSignal; [oauth.allowInsecureRequests]: boolean };
}

/** The template values that apply: the integration's own, then the connection's. */
export function templateValuesFor(entry: ProviderEntry, integration: IntegrationRow, extra: Record<string, string> = {}) {
  const settings = fromJson<IntegrationSettings>(integration.settings, {});
  const values: Record<string, string> = {};
  for (const name of entry.templateParams ?? []) {
    const value = extra[name] ?? settings.params?.[name];
    if (value === undefined) fail(ErrorCode.invalidRequest, `provider "${entry.id}" needs "${name}"`);
    values[name] = value!;
  }
  return values;
}

export async function upstreamFor(
  services: Services,
  appId: string,
  provider: string,
  templateValues: Record<string, string>,
): Promise<Upstream> {
  const entry = services.catalog.get(provider) ?? fail(ErrorCode.notFound, `no provider "${provider}" in the catalog`);
  const integration =
    (await findIntegration(services.db, appId, entry.id)) ??
    fail(ErrorCode.invalidRequest, `this app has no integration for "${entry.id}"`);
  const settings = fromJson<IntegrationSettings>(integration.settings, {});
  const allowInsecure = services.config.allowInsecureUpstreams;
  let server: ResolvedServer;
  try {
    server = await resolveServer(entry, { issuer: settings.issuer, templateValues, allowInsecure });
  } catch (err) {
    if (err instanceof TemplateError) return fail(ErrorCode.invalidRequest, err.message);
    throw upstreamFailure('the provider could not be discovered', err);
  }
  const secret = openClientSecret(services, integration);
  const clientAuth =
    entry.tokenEndpointAuthMethod === 'client_secret_basic' ? oauth.ClientSecretBasic(secret) : oauth.ClientSecretPost(secret);
  return {
    entry,
    integration,
    server,
    client: { client_id: integration.client_id },
    clientAuth,
    requestOptions: () => ({ signal: AbortSignal.timeout(services.config.upstreamTimeoutMs ?? UPSTREAM_TIMEOUT_MS), [oauth.allowInsecureRequests]: allowInsecure }),
  };
}

/**
 * Maps what oauth4webapi or the network threw to a GatehouseError that is safe to show: the
 * provider's own error code where it sent one, never a token.
 */
export function upstreamFailure(what: string, err: unknown): GatehouseError {
  if (err instanceof GatehouseError) return err;
  if (err instanceof oauth.AuthorizationResponseError) {
    const code = err.error === 'access_denied' ? ErrorCode.accessDenied : ErrorCode.upstreamError;
    return new GatehouseError(code, `${what}: the provider answered ${err.error}`, { cause: err });
  }
  if (err instanceof oauth.ResponseBodyError) {
    return new GatehouseError(ErrorCode.upstreamError, `${what}: the provider answered ${err.error} (HTTP ${err.status})`, { cause: err });
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    return new GatehouseError(ErrorCode.upstreamError, `${what}: the provider refused the request (HTTP ${err.status})`, { cause: err });
  }
  if (err instanceof oauth.OperationProcessingError) {
    return new GatehouseError(ErrorCode.upstreamError, `${what}: ${err.message}`, { cause: err });
  }
  return new GatehouseError(ErrorCode.upstreamUnavailable, `${what}: the provider could not be reached`, { cause: err });
}
