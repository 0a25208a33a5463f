/**
 * Every `code` an SDK error carries. Wire fields (`error`, `error_description`) keep their wire
 * names on the error objects that have them.
 */
export const codes = {
  /** The authorization response (the redirect's query) carried `error=…`. */
  AUTHORIZATION_RESPONSE_ERROR: 'AUTHORIZATION_RESPONSE_ERROR',
  /** Gatehouse answered with an RFC 6749 §5.2 error body (`ResponseBodyError.error` says which). */
  RESPONSE_BODY_ERROR: 'RESPONSE_BODY_ERROR',
  /** Gatehouse answered with something that is not the documented shape. */
  INVALID_RESPONSE: 'INVALID_RESPONSE',
  /** The redirect's `state` is not the one this session sent. */
  STATE_MISMATCH: 'STATE_MISMATCH',
  /** The redirect's `iss` (RFC 9207), or the metadata's `issuer` (RFC 8414 §3.3), is not this Gatehouse. */
  ISSUER_MISMATCH: 'ISSUER_MISMATCH',
  /** A required parameter is missing, or a parameter came twice. */
  INVALID_PARAMETER: 'INVALID_PARAMETER',
  /** `verifyToken`: the token was minted for another client (confused deputy). */
  CLIENT_MISMATCH: 'CLIENT_MISMATCH',
  /** `verifyToken`: the token is not bound to the expected account. */
  ACCOUNT_MISMATCH: 'ACCOUNT_MISMATCH',
  /** Something Gatehouse does not do was asked (e.g. the `openid` scope: Gatehouse issues no ID tokens). */
  UNSUPPORTED: 'UNSUPPORTED',
  /** A call's argument or the SDK's configuration is wrong (e.g. no API key for the accounts API). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A webhook's `Gatehouse-Signature` header is missing or malformed. */
  WEBHOOK_MALFORMED: 'WEBHOOK_MALFORMED',
  /** No `v1` signature in the header matches the body under the secret. */
  WEBHOOK_BAD_SIGNATURE: 'WEBHOOK_BAD_SIGNATURE',
  /** The signature's timestamp is further from now than the tolerance. */
  WEBHOOK_STALE: 'WEBHOOK_STALE',
} as const;
export type Code = (typeof codes)[keyof typeof codes];

/** The base of every error the SDK throws: `code` is one of `codes`. */
export class GatehouseSdkError extends Error {
  override name = 'GatehouseSdkError';
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A check the SDK makes failed (state, issuer, client, account, response shape, arguments). */
export class OperationProcessingError extends GatehouseSdkError {
  override name = 'OperationProcessingError';
}

/**
 * The redirect back from Gatehouse carried an error (RFC 6749 §4.1.2.1), e.g. `access_denied`
 * when the user pressed Deny.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 */
export class AuthorizationResponseError extends GatehouseSdkError {
  override name = 'AuthorizationResponseError';
  readonly error: string;
  readonly error_description: string | undefined;
  constructor(params: URLSearchParams) {
    const error = params.get('error')!;
    const description = params.get('error_description') ?? undefined;
    super(codes.AUTHORIZATION_RESPONSE_ERROR, `authorization failed: ${error}${description ? ` (${description})` : ''}`);
    this.error = error;
    this.error_description = description;
  }
}

/**
 * Gatehouse answered an HTTP call with an error status and an RFC 6749 §5.2 body.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class ResponseBodyError extends GatehouseSdkError {
  override name = 'ResponseBodyError';
  constructor(
    readonly status: number,
    readonly error: string,
    readonly error_description: string | undefined,
    readonly response: Response,
  ) {
    super(codes.RESPONSE_BODY_ERROR, `Gatehouse answered ${status} ${error}${error_description ? `: ${error_description}` : ''}`);
  }
}

/** A webhook delivery did not verify: do not act on it (answer 400). */
export class WebhookVerificationError extends GatehouseSdkError {
  override name = 'WebhookVerificationError';
}

export const processingError = (code: Code, message: string, cause?: unknown): never => {
  throw new OperationProcessingError(code, message, cause === undefined ? undefined : { cause });
};
