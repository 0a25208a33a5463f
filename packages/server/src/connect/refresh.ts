import * as oauth from 'oauth4webapi';
import { GatehouseError } from '../errors.ts';
import type { Services } from '../services.ts';
import { fromJson, type AccountRow } from '../store/index.ts';
import { UPSTREAM_TIMEOUT_MS, upstreamFor } from './upstream.ts';

export type RefreshOutcome =
  | { ok: true; tokens: oauth.TokenEndpointResponse }
  /**
   * invalid_grant: the provider refused the refresh token (expired, revoked): only a reconnect helps.
   * transient: 5xx, 429, timeout, network, a malformed answer, our own integration refused: try later.
   */
  | { ok: false; kind: 'invalid_grant' | 'transient'; description: string; retryAfterSeconds?: number };

export interface RefreshOptions {
  /** The upstream call's time limit (tests shorten it). */
  timeoutMs?: number | undefined;
}

/** One refresh_token grant at the account's provider, validated by oauth4webapi; never throws for an upstream failure. */
export async function refreshUpstream(
  services: Services,
  account: AccountRow,
  refreshToken: string,
  options: RefreshOptions = {},
): Promise<RefreshOutcome> {
  let upstream;
  try {
    upstream = await upstreamFor(services, account.app_id, account.provider, fromJson(account.template_values, {}));
  } catch (err) {
    const description = err instanceof GatehouseError ? err.description : 'the provider could not be reached';
    return { ok: false, kind: 'transient', description };
  }
  const { as } = upstream.server;
  const requestOptions = {
    ...upstream.requestOptions(),
    signal: AbortSignal.timeout(options.timeoutMs ?? services.config.upstreamTimeoutMs ?? UPSTREAM_TIMEOUT_MS),
  };
  try {
    const response = await oauth.refreshTokenGrantRequest(as, upstream.client, upstream.clientAuth, refreshToken, requestOptions);
    const tokens = await oauth.processRefreshTokenResponse(as, upstream.client, response, {
      recognizedTokenTypes: Object.fromEntries((upstream.entry.extraTokenTypes ?? []).map((type) => [type, () => {}])),
    });
    return { ok: true, tokens };
  } catch (err) {
    return classify(err);
  }
}

function classify(err: unknown): RefreshOutcome & { ok: false } {
  if (err instanceof oauth.ResponseBodyError) {
    if (err.error === 'invalid_grant') {
      return { ok: false, kind: 'invalid_grant', description: 'the provider refused the refresh token (invalid_grant)' };
    }
    const retryAfter = Number(err.response.headers.get('retry-after'));
    return {
      ok: false,
      kind: 'transient',
      description: `the provider answered ${err.error} (HTTP ${err.status})`,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
    };
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    return { ok: false, kind: 'transient', description: `the provider refused the request (HTTP ${err.status})` };
  }
  if (err instanceof oauth.OperationProcessingError) {
    const status = (err.cause as Response | undefined)?.status;
    return { ok: false, kind: 'transient', description: `the provider's answer was unusable${typeof status === 'number' ? ` (HTTP ${status})` : ''}` };
  }
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return { ok: false, kind: 'transient', description: 'the provider did not answer in time' };
  }
  return { ok: false, kind: 'transient', description: 'the provider could not be reached' };
}
