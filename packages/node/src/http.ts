import { codes, processingError, ResponseBodyError } from './errors.ts';

export type Fetch = typeof fetch;

/** How the SDK reaches one Gatehouse: its base URL (no trailing slash) and a fetch. */
export interface Transport {
  baseUrl: string;
  fetch: Fetch;
}

/** An `Authorization` header value for a bearer credential (API key or access token). */
export const bearer = (token: string): string => `Bearer ${token}`;

/** Reads a JSON answer; an error status becomes a ResponseBodyError, anything unexpected an INVALID_RESPONSE. */
export async function readJson<T>(response: Response, expected: number[] = [200]): Promise<T> {
  if (!expected.includes(response.status)) await throwResponseError(response);
  try {
    return (await response.json()) as T;
  } catch (err) {
    return processingError(codes.INVALID_RESPONSE, `Gatehouse answered ${response.status} without a JSON body`, err);
  }
}

/** Throws the RFC 6749 §5.2 error an error answer carries (or an INVALID_RESPONSE when it carries none). */
export async function throwResponseError(response: Response): Promise<never> {
  const body = (await response.json().catch(() => undefined)) as { error?: unknown; error_description?: unknown } | undefined;
  if (body && typeof body.error === 'string') {
    throw new ResponseBodyError(
      response.status,
      body.error,
      typeof body.error_description === 'string' ? body.error_description : undefined,
      response,
    );
  }
  return processingError(codes.INVALID_RESPONSE, `Gatehouse answered ${response.status} without an error body`);
}

/** A JSON request to the API with a bearer credential. */
export async function apiRequest<T>(
  transport: Transport,
  credential: string,
  method: string,
  path: string,
  options: { query?: Record<string, string | number | undefined>; body?: unknown; expected?: number[] } = {},
): Promise<T> {
  const url = new URL(`${transport.baseUrl}${path}`);
  for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
  const headers: Record<string, string> = { authorization: bearer(credential), accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await transport.fetch(url, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    redirect: 'manual',
  });
  return readJson<T>(response, options.expected);
}

/** A form POST to an OAuth endpoint (token, revocation), with client authentication already in `headers`/`form`. */
export function formRequest(transport: Transport, path: string, form: URLSearchParams, headers: Record<string, string>): Promise<Response> {
  return transport.fetch(`${transport.baseUrl}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: form.toString(),
    redirect: 'manual',
  });
}
