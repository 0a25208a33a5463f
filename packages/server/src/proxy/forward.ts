import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { accountAccess, freshAccessToken, rememberedAccess, type FreshToken } from '../accounts/index.ts';
import { ErrorCode, fail, GatehouseError } from '../errors.ts';
import type { Services } from '../services.ts';
import { forgetAccount } from '../store/index.ts';
import { callerResponseHeaders, upstreamRequestHeaders, type HeaderMap } from './headers.ts';
import { proxyBase, rawTargetUrl, targetUrl, templateValues, type ProxyBase } from './target.ts';

/** Request bodies up to this size are read into memory so a 401 or a retry can send them again; larger ones stream once. */
export const REPLAY_LIMIT_BYTES = 64 * 1024;
/** `Gatehouse-Retries` allows at most this many retries. */
export const MAX_RETRIES = 3;
/** A Retry-After longer than this is not waited for: the answer goes back to the caller. */
export const RETRY_AFTER_CAP_MS = 5_000;
const RETRY_BASE_MS = 200;
const RETRYABLE = new Set([429, 502, 503, 504]);

export const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** One connection pool for every proxied call; no redirects are followed (a 3xx goes back as it is). */
const agent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 10_000 });

/**
 * Tells a proxied call that its caller went away (undici takes any emitter of 'abort' with an
 * `aborted` flag as a signal). Cheaper per call than an AbortController, whose EventTarget
 * listeners were a visible part of a proxied call's cost.
 */
export class CallerGone extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** Waits ms, or rejects with invalid_request as soon as the caller goes away. */
function pause(ms: number, gone: CallerGone | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const left = () => {
      clearTimeout(timer);
      reject(new GatehouseError(ErrorCode.invalidRequest, 'the caller went away'));
    };
    const timer = setTimeout(() => {
      gone?.off('abort', left);
      resolve();
    }, ms);
    if (gone?.aborted) left();
    else gone?.once('abort', left);
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
  signal?: CallerGone | undefined;
}

export interface ProxyResponse {
  status: number;
  headers: HeaderMap;
  /** Streamed; a small answer of declared length is read into memory (see smallBodyInMemory). */
  body: Readable | Buffer;
}

/**
 * An answer with a Content-Length up to REPLAY_LIMIT_BYTES is read whole, so the caller gets
 * headers and body in one write instead of a write per chunk plus one to end: on small API
 * answers that was a large part of a proxied call's cost. So is a chunked answer that has
 * arrived whole by the next turn of the event loop (see arrivedWhole). Anything else streams.
 */
async function smallBodyInMemory(sent: Dispatcher.ResponseData, method: string): Promise<Readable | Buffer> {
  const declared = sent.headers['content-length'];
  if (declared === undefined) {
    const type = sent.headers['content-type'];
    const bodiless = method === 'HEAD' || sent.statusCode === 204 || sent.statusCode === 304;
    const events = typeof type === 'string' && type.toLowerCase().startsWith('text/event-stream');
    return bodiless || events ? sent.body : arrivedWhole(sent.body);
  }
  const length = typeof declared === 'string' && /^\d{1,9}$/.test(declared) ? Number(declared) : NaN;
  if (!(length <= REPLAY_LIMIT_BYTES) || sent.headers['transfer-encoding'] !== undefined) return sent.body;
  return Buffer.from(await sent.body.arrayBuffer());
}

/**
 * A body of unknown length that ends, within REPLAY_LIMIT_BYTES, before the next turn of the
 * event loop (a small chunked answer comes in one read) as one Buffer; otherwise a stream of
 * what came so far and the rest, delayed by at most that one turn. A body that breaks off
 * before that is the provider's error (502), since nothing has been sent to the caller yet.
 */
function arrivedWhole(body: Readable): Promise<Readable | Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      clearImmediate(turn);
      body.off('data', onData).off('end', onEnd).off('error', onError);
    };
    const asStream = () => {
      stop();
      body.pause();
      resolve(chunks.length === 0 ? body : Readable.from(concat(chunks, body), { objectMode: false }));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > REPLAY_LIMIT_BYTES) asStream();
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      stop();
      reject(new GatehouseError(ErrorCode.upstreamError, "the provider's answer broke off", { cause: err }));
    };
    const turn = setImmediate(asStream);
    body.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

async function* concat(first: Buffer[], rest: Readable): AsyncGenerator<Buffer> {
  yield* first;
  for await (const chunk of rest) yield chunk as Buffer;
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
  const scheme = (token: FreshToken) => authScheme(token.tokenType, entry.extraTokenTypes ?? []);
  const timeoutMs = services.config.proxyTimeoutMs;

  let token = access.token;
  let refreshed = false;
  for (let attempt = 0; ; attempt++) {
    const sent = await send(url, {
      method: call.method,
      headers: { ...headers, authorization: `${scheme(token)} ${token.accessToken}` },
      body: body.payload,
      timeoutMs,
      signal: call.signal,
    });
    if ('statusCode' in sent && sent.statusCode === 401 && !refreshed) {
      refreshed = true;
      if (body.replayable) {
        await sent.body.dump();
        token = await newerToken(services, call, token);
        attempt--;
        continue;
      }
      // a streamed body cannot be sent again: the 401 goes back, and the next call gets a new token
      await newerToken(services, call, token).catch((err: unknown) =>
        services.logger.info({ account: account.id, err: err instanceof GatehouseError ? err.code : 'error' }, 'proxy: refresh after a 401 failed'),
      );
    }
    const status = 'statusCode' in sent ? sent.statusCode : sent.status;
    if (RETRYABLE.has(status) && body.replayable && attempt < call.retries) {
      const wait = retryDelay(attempt, 'statusCode' in sent ? sent.headers['retry-after'] : undefined);
      if (wait !== undefined) {
        if ('statusCode' in sent) await sent.body.dump();
        services.logger.info({ account: account.id, status, attempt: attempt + 1, wait }, 'proxy: retrying the provider call');
        await pause(wait, call.signal);
        continue;
      }
    }
    if (!('statusCode' in sent)) throw sent.error;
    return { status: sent.statusCode, headers: callerResponseHeaders(sent.headers), body: await smallBodyInMemory(sent, call.method) };
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
function authScheme(tokenType: string, extraTypes: string[]): string {
  const type = tokenType.toLowerCase();
  return type === 'bearer' || extraTypes.includes(type) ? 'Bearer' : tokenType;
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

type Sent = Dispatcher.ResponseData | { status: number; error: GatehouseError };

interface SendOptions {
  method: string;
  headers: HeaderMap;
  body: Buffer | Readable | null;
  timeoutMs: number;
  signal?: CallerGone | undefined;
}

/** One upstream request; a network failure or timeout comes back as a status (502/504) with its error. */
async function send(url: URL, options: SendOptions): Promise<Sent> {
  try {
    return await agent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: options.method as Dispatcher.HttpMethod,
      headers: options.headers,
      body: options.body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: options.signal,
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return { status: 504, error: new GatehouseError(ErrorCode.upstreamTimeout, `the provider did not answer within ${options.timeoutMs} ms`, { cause: err }) };
    }
    if (code === 'UND_ERR_ABORTED' || options.signal?.aborted) throw new GatehouseError(ErrorCode.invalidRequest, 'the caller went away', { cause: err });
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') throw new GatehouseError(ErrorCode.invalidRequest, 'the request body does not match its Content-Length', { cause: err });
    return { status: 502, error: new GatehouseError(ErrorCode.upstreamError, 'the provider could not be reached', { cause: err }) };
  }
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
