/**
 * Every error code Gatehouse answers with. OAuth ones keep their RFC 6749 §5.2 / RFC 6750 names;
 * `http/errors.ts` maps each code to a status in one place.
 */
export const ErrorCode = {
  invalidRequest: 'invalid_request',
  invalidClient: 'invalid_client',
  invalidGrant: 'invalid_grant',
  unauthorizedClient: 'unauthorized_client',
  unsupportedGrantType: 'unsupported_grant_type',
  unsupportedResponseType: 'unsupported_response_type',
  invalidScope: 'invalid_scope',
  accessDenied: 'access_denied',
  invalidToken: 'invalid_token',
  insufficientScope: 'insufficient_scope',
  notFound: 'not_found',
  conflict: 'conflict',
  invalidState: 'invalid_state',
  upstreamError: 'upstream_error',
  upstreamUnavailable: 'upstream_unavailable',
  /** The provider did not answer within the proxy's time limit. */
  upstreamTimeout: 'upstream_timeout',
  tooManyRequests: 'too_many_requests',
  /** The provider's token endpoint failed recently; no refresh is tried until the cooldown ends. */
  upstreamBackoff: 'upstream_backoff',
  /** The provider refused the account's grant: the end user must reconnect it. */
  needsReauth: 'needs_reauth',
  serverError: 'server_error',
  /** Gatehouse's own database cannot be reached right now (a restart, a failover): retry shortly. */
  temporarilyUnavailable: 'temporarily_unavailable',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A failure that is the caller's or the upstream's, never a bug: safe to show its description. */
export class GatehouseError extends Error {
  override name = 'GatehouseError';
  constructor(
    readonly code: ErrorCode,
    readonly description: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${description}`, options);
  }
}

export const fail = (code: ErrorCode, description: string, cause?: unknown): never => {
  throw new GatehouseError(code, description, cause === undefined ? undefined : { cause });
};
