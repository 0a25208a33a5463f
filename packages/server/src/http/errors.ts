import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { ErrorCode, GatehouseError } from '../errors.ts';
import { errorPage } from '../pages/index.ts';
import { isDatabaseUnavailable } from '../store/index.ts';

/** Seconds a client is asked to wait when the database is unavailable. */
const UNAVAILABLE_RETRY_AFTER_S = 2;

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  invalid_token: 401,
  insufficient_scope: 403,
  not_found: 404,
  conflict: 409,
  invalid_state: 400,
  upstream_error: 502,
  upstream_unavailable: 503,
  upstream_timeout: 504,
  too_many_requests: 429,
  upstream_backoff: 424,
  needs_reauth: 409,
  server_error: 500,
  temporarily_unavailable: 503,
};

export const statusOf = (code: ErrorCode): number => STATUS[code];

/** RFC 6749 §5.2 body: `{ error, error_description }`. */
export function sendError(reply: FastifyReply, code: ErrorCode, description: string, status = STATUS[code]) {
  if (status === 401) {
    const scheme = code === ErrorCode.invalidClient ? 'Basic realm="gatehouse"' : `Bearer realm="gatehouse", error="${code}"`;
    reply.header('www-authenticate', scheme);
  }
  // no-store, as every answer without a Cache-Control of its own (secureResponses)
  return reply.code(status).send({ error: code, error_description: description });
}

/** Routes that answer people rather than programs set this; their errors become pages. */
declare module 'fastify' {
  interface FastifyContextConfig {
    page?: boolean;
  }
}

/**
 * One place maps errors to HTTP: GatehouseError by its code, Fastify's own 4xx (validation,
 * body parsing, limits) as invalid_request, anything else as a 500 with a reference id that is
 * also in the log, and no detail.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | GatehouseError | Error, request, reply) => {
    const page = request.routeOptions.config?.page === true;
    let code: ErrorCode;
    let description: string;
    let status: number;
    const reference = randomUUID();
    if (err instanceof GatehouseError) {
      code = err.code;
      description = err.description;
      status = STATUS[code];
      request.log.info({ ref: reference, error: code, description }, 'request refused');
    } else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      code = ErrorCode.invalidRequest;
      description = err.message;
      status = err.statusCode === 404 ? 404 : err.statusCode === 413 ? 413 : err.statusCode === 415 ? 415 : 400;
      request.log.info({ ref: reference, error: code, status }, 'bad request');
    } else if (isDatabaseUnavailable(err)) {
      // not a bug: the database restarts or fails over; a clear 503 beats a stack trace or a hang
      code = ErrorCode.temporarilyUnavailable;
      description = `the service is briefly unavailable; retry in a few seconds (reference ${reference})`;
      status = 503;
      reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
      request.log.warn({ ref: reference, reason: (err as { code?: string }).code ?? err.message }, 'database unavailable');
    } else {
      code = ErrorCode.serverError;
      description = `something went wrong on our side (reference ${reference})`;
      status = 500;
      request.log.error({ ref: reference, err }, 'request failed');
    }
    if (page) {
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .send(errorPage({ code, description, reference }));
    }
    return sendError(reply, code, description, status);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, ErrorCode.notFound, `no route ${request.method} ${request.url.split('?')[0]}`));
}

/**
 * Node's parser refuses a request before Fastify sees it (a raw non-ASCII byte in the URL, a
 * malformed header, headers over the size limit, a timeout). Fastify's default answer there is
 * `{error, message, statusCode}`; give the RFC 6749 shape instead, and close as Node does.
 */
export function answerClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, description] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'the request took too long to arrive']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'the request headers are too large']
        : [400, 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: ErrorCode.invalidRequest, error_description: description });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${status === 400 ? 'Bad Request' : status === 408 ? 'Request Timeout' : 'Request Header Fields Too Large'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n' +
        // a HEAD answer has no body (a client would read it as the start of a next response)
        (Buffer.isBuffer(err.rawPacket) && err.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ' ? '' : body),
    );
  }
  socket.destroy(err);
}
