import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { accountAccess, freshAccessToken, rememberedAccess, type FreshToken } from '../accounts/index.ts';
import { ErrorCode, fail, GatehouseError } from '../errors.ts';
import type { Services } from '../services.ts';
import { forgetAccount } from '../store/index.ts';
import { callerResponseHeaders, upstreamRequestHeaders, type HeaderMap } from './headers.ts';
import { proxyBase, rawTargetUrl, targetUrl, templateValues, type ProxyBase } from './target.ts';
import { discard, REPLAY_LIMIT_BYTES, send, type CallerGone } from './upstream.ts';

/** `Gatehouse-Retries` allows at most this many retries. */
export const MAX_RETRIES = 3;
/** A Retry-After longer than this is not waited for: the answer goes back to the caller. */
export const RETRY_AFTER_CAP_MS = 5_000;
const RETRY_BASE_MS = 200;
const RETRYABLE = new Set([429, 502, 503, 504]);

export const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Waits ms, or rejects with invalid_request as soon as the caller goes away. */
function pause(ms: number, gone: CallerGone | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      gone?.onAbort(undefined);
      resolve();
    }, ms);
    gone?.onAbort(() => {
      clearTimeout(timer);
      reject(new GatehouseError(ErrorCode.invalidRequest, 'the caller went away'));
    });
  });
}

const NO_BODY: PreparedBody = { payload: null, replayable: true };

export interface ProxyCall {
  appId: string;
  accountId: string;
  method: string;
  /**
   * Where to go below the provider's API base: the path as sent (percent-encoded, no leading
   * slash) and the query without "?", or Kloudless' X-Raw-URI (a relative path or a full URL).
   */
  target: { path: string; query: string } | { rawUri: string };
  headers: IncomingHttpHeaders;
  /** Header names to keep from the provider besides Gatehouse-* (e.g. x-raw-uri). */
  dropHeaders?: string[];
  /** The request body as a stream, or null when there is none. */
  body: Readable | null;
  /** Retries of 429/502/503/504 and network failures for a replayable request (0..MAX_RETRIES). */
  retries: number;
  /** Aborted when the caller goes away. */
  gone?: CallerGone | undefined;
}

export interface ProxyResponse {
  status: number;
  headers: HeaderMap;
  /** A small answer whole, anything else streamed (see UpstreamCall in upstream.ts). */
  body: Readable | Buffer;
}

/**
 * Calls the provider's API for an account: the target below the entry's proxy base (SSRF guard in
 * target.ts), the caller's headers cleaned, `Authorization: <token_type> <fresh token>` added,
 * bodies streamed. An upstream 401 refreshes the token once and replays a replayable request.
 */
export async function proxyCall(services: Services, call: ProxyCall): Promise<ProxyResponse> {
  // a warm call takes no turn of the event loop before the provider call: nothing here is read twice
  const access = rememberedAccess(services, call.appId, call.accountId) ?? (await accountAccess(services, call.appId, call.accountId));
  const { account } = access;
  const entry = services.catalog.get(account.provider) ?? fail(ErrorCode.notFound, `provider "${account.provider}" is no longer in the catalog`);
  const values = entry.templateParams?.length ? await templateValues(services, account, entry) : {};
  const url = resolveTarget(proxyBase(entry, values, services.config.allowInsecureUpstreams), call.target);
  const body = call.body ? await prepareBody(call.body, call.headers) : NO_BODY;
  const headers = upstreamRequestHeaders(call.headers, call.dropHeaders);
  const timeoutMs = services.config.proxyTimeoutMs;

  let token = access.token;
  let refreshed = false;
  for (let attempt = 0; ; attempt++) {
    headers.authorization = `${authScheme(token.tokenType, entry.extraTokenTypes)} ${token.accessToken}`;
    const sent = await send(url, {
      method: call.method,
      headers,
      body: body.payload,
      timeoutMs,
      gone: call.gone,
    });
    const answered = 'body' in sent ? sent : undefined;
    if (answered?.status === 401 && !refreshed) {
      refreshed = true;
      if (body.replayable) {
        discard(answered);
        token = await newerToken(services, call, token);
        attempt--;
        continue;
      }
      // a streamed body cannot be sent again: the 401 goes back, and the next call gets a new token
      await newerToken(services, call, token).catch((err: unknown) =>
        services.logger.info({ account: account.id, err: err instanceof GatehouseError ? err.code : 'error' }, 'proxy: refresh after a 401 failed'),
      );
    }
    if (RETRYABLE.has(sent.status) && body.replayable && attempt < call.retries) {
      const wait = retryDelay(attempt, answered?.headers['retry-after']);
      if (wait !== undefined) {
        if (answered) discard(answered);
        services.logger.info({ account: account.id, status: sent.status, attempt: attempt + 1, wait }, 'proxy: retrying the provider call');
        await pause(wait, call.gone);
        continue;
      }
    }
    if ('error' in sent) throw sent.error;
    return { status: sent.status, headers: callerResponseHeaders(sent.headers), body: sent.body };
  }
}

function resolveTarget(base: ProxyBase, target: ProxyCall['target']): URL {
  return 'rawUri' in target ? rawTargetUrl(base, target.rawUri) : targetUrl(base, target.path, target.query);
}

/** The token after an upstream 401: one another caller stored meanwhile, else a forced refresh. */
async function newerToken(services: Services, call: ProxyCall, used: FreshToken): Promise<FreshToken> {
  forgetAccount(call.accountId); // the provider refused what may have been a remembered token
  const current = await freshAccessToken(services, call.appId, call.accountId);
  if (current.accessToken !== used.accessToken) return current;
  return freshAccessToken(services, call.appId, call.accountId, { force: true });
}

/** "bearer" (any case) and the provider's own bearer-like types (Slack's "bot") are sent as Bearer. */
function authScheme(tokenType: string, extraTypes: string[] | undefined): string {
  const type = tokenType.toLowerCase();
  return type === 'bearer' || extraTypes?.includes(type) ? 'Bearer' : tokenType;
}

interface PreparedBody {
  payload: Buffer | Readable | null;
  /** Whether the request can be sent again (no body, or one read into memory). */
  replayable: boolean;
}

/** Reads a body of a declared length up to REPLAY_LIMIT_BYTES into memory; anything else streams. */
async function prepareBody(body: Readable, headers: IncomingHttpHeaders): Promise<PreparedBody> {
  const length = headers['content-length'] === undefined ? NaN : Number(headers['content-length']);
  if (headers['transfer-encoding'] !== undefined || !Number.isSafeInteger(length) || length > REPLAY_LIMIT_BYTES) {
    return { payload: body, replayable: false };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > REPLAY_LIMIT_BYTES) fail(ErrorCode.invalidRequest, 'the request body is longer than its Content-Length');
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw err instanceof GatehouseError ? err : new GatehouseError(ErrorCode.invalidRequest, 'the request body ended before its Content-Length', { cause: err });
  }
  return { payload: Buffer.concat(chunks), replayable: true };
}

/** How long to wait before retry number attempt+1: the provider's Retry-After up to the cap, else exponential with jitter. */
export function retryDelay(attempt: number, retryAfter: string | string[] | undefined): number | undefined {
  const value = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  if (value !== undefined && value.trim() !== '') {
    const seconds = /^\d+$/.test(value.trim()) ? Number(value.trim()) : (Date.parse(value) - Date.now()) / 1000;
    if (!Number.isFinite(seconds)) return RETRY_BASE_MS * 2 ** attempt;
    const ms = Math.max(0, seconds * 1000);
    return ms > RETRY_AFTER_CAP_MS ? undefined : ms;
  }
  return RETRY_BASE_MS * 2 ** attempt + Math.floor(Math.random() * RETRY_BASE_MS);
}
