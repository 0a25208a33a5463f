import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { ErrorCode, GatehouseError } from '../errors.ts';
import type { HeaderMap } from './headers.ts';

/** Request bodies and answers up to this size may be held in memory (replays, answers in one write). */
export const REPLAY_LIMIT_BYTES = 64 * 1024;

/** One connection pool for every proxied call; no redirects are followed (a 3xx goes back as it is). */
const agent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 10_000 });

/** Tells a proxied call that its caller went away; what is waiting on it (one thing at a time) stops. */
export class CallerGone {
  aborted = false;
  #listener: (() => void) | undefined;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#listener?.();
  }

  /** Runs listener when the caller goes away, at once if it has; undefined stops listening. */
  onAbort(listener: (() => void) | undefined): void {
    this.#listener = listener;
    if (listener && this.aborted) listener();
  }
}

/** The provider's answer: the whole body when it was small and came at once (see UpstreamCall), else a stream of it. */
export interface UpstreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer | Readable;
}

/** A call that got no answer: its status for the caller (502, 504) and why. */
export interface UpstreamFailure {
  status: number;
  error: GatehouseError;
}

export interface SendOptions {
  method: string;
  headers: HeaderMap;
  body: Buffer | Readable | null;
  timeoutMs: number;
  gone?: CallerGone | undefined;
}

/**
 * One upstream request. A network failure or timeout comes back as an UpstreamFailure; the caller
 * going away, or a body that does not match its Content-Length, as a thrown invalid_request.
 */
export function send(url: URL, options: SendOptions): Promise<UpstreamAnswer | UpstreamFailure> {
  // a promise with a catch rather than an async function: one call's worth of promises fewer
  return new Promise<UpstreamAnswer>((resolve, reject) => {
    const call = new UpstreamCall(options, resolve, reject);
    agent.dispatch(
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method: options.method as Dispatcher.HttpMethod,
        headers: options.headers,
        body: options.body,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      },
      call,
    );
  }).catch((err: unknown) => failure(err, options));
}

/** What a failed upstream request means for the caller. */
function failure(err: unknown, options: SendOptions): UpstreamFailure {
  if (err instanceof GatehouseError) throw err;
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { status: 504, error: new GatehouseError(ErrorCode.upstreamTimeout, `the provider did not answer within ${options.timeoutMs} ms`, { cause: err }) };
  }
  if (code === 'UND_ERR_ABORTED' || options.gone?.aborted) throw new GatehouseError(ErrorCode.invalidRequest, 'the caller went away', { cause: err });
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') throw new GatehouseError(ErrorCode.invalidRequest, 'the request body does not match its Content-Length', { cause: err });
  return { status: 502, error: new GatehouseError(ErrorCode.upstreamError, 'the provider could not be reached', { cause: err }) };
}

/** Throws away an answer that will not be passed on (before a retry): a stream is closed, which ends the upstream call. */
export function discard(answer: UpstreamAnswer): void {
  if (answer.body instanceof Readable) answer.body.destroy();
}

/**
 * undici's handler for one call, without the stream undici's request() puts around every answer.
 * An answer with a Content-Length up to REPLAY_LIMIT_BYTES is read whole before it resolves, so
 * the caller gets headers and body in one write; so is one of unknown length (chunked) that ends
 * within that size in the same read as its headers (a small API answer comes that way). Anything
 * else, and every HEAD, 204, 304 or event stream, resolves at its headers as a stream that reads
 * from the provider only as fast as the caller takes it.
 */
class UpstreamCall implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];
  #size = 0;
  #stream: Readable | undefined;
  #ended = false;

  constructor(
    private readonly options: SendOptions,
    private readonly resolve: (answer: UpstreamAnswer) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.options.gone?.onAbort(() => controller.abort(new GatehouseError(ErrorCode.invalidRequest, 'the caller went away')));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200) return; // informational (103 Early Hints): the answer is still to come
    this.#status = status;
    this.#headers = headers;
    const declared = headers['content-length'];
    if (declared === undefined) {
      const type = headers['content-type'];
      const bodiless = this.options.method === 'HEAD' || status === 204 || status === 304;
      const events = typeof type === 'string' && type.toLowerCase().startsWith('text/event-stream');
      if (bodiless || events) {
        this.#toStream();
      } else {
        // the rest of what this read brought is parsed before a microtask runs
        queueMicrotask(() => {
          if (!this.#ended && !this.#stream) this.#toStream();
        });
      }
      return;
    }
    const length = /^\d{1,9}$/.test(declared) ? Number(declared) : NaN;
    if (!(length <= REPLAY_LIMIT_BYTES) || headers['transfer-encoding'] !== undefined) this.#toStream();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#stream) {
      if (!this.#stream.push(chunk)) controller.pause();
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size > REPLAY_LIMIT_BYTES) this.#toStream();
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.options.gone?.onAbort(undefined);
    if (this.#stream) {
      this.#stream.push(null);
      return;
    }
    this.resolve({ status: this.#status, headers: this.#headers, body: this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size) });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#ended = true;
    this.options.gone?.onAbort(undefined);
    if (this.#stream) {
      this.#stream.destroy(err);
    } else {
      // an answer that broke off after its headers is the provider's failure: nothing has reached the caller yet
      const broken = this.#status !== 0 && !(err instanceof GatehouseError) && (err as { code?: string }).code !== 'UND_ERR_ABORTED';
      this.reject(broken ? new GatehouseError(ErrorCode.upstreamError, "the provider's answer broke off", { cause: err }) : err);
    }
  }

  /** From here on the answer streams: what came so far first, then the rest as the reader asks. */
  #toStream(): void {
    const controller = this.#controller!;
    const stream = new Readable({
      read: () => controller.resume(),
      destroy: (err, callback) => {
        if (!this.#ended) controller.abort(err ?? new GatehouseError(ErrorCode.invalidRequest, 'the answer was not read to its end'));
        callback(err);
      },
    });
    this.#stream = stream;
    if (this.#size > 0) stream.push(Buffer.concat(this.#chunks, this.#size));
    this.#chunks = [];
    this.resolve({ status: this.#status, headers: this.#headers, body: stream });
  }
}
