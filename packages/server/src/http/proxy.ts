import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ErrorCode, fail } from '../errors.ts';
import { CallerGone, PROXY_METHODS, proxyCall, readCredentials, type ProxyCall } from '../proxy/index.ts';
import type { Services } from '../services.ts';
import { appIdFor, requireCaller } from './auth.ts';
import { AccountIdParams, API_KEY_ONLY, API_KEY_OR_TOKEN, CredentialsSchema, ErrorSchema, ProxyHeaders, RawHeaders } from './schemas.ts';

/** Any status the provider answered, passed through as it came (marked `Via: 1.1 gatehouse`). */
const PASSED_THROUGH = { default: { description: "The provider's answer as it came: its status, headers (Via: 1.1 gatehouse) and body" } };

const errors = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  409: ErrorSchema,
  424: ErrorSchema,
  502: ErrorSchema,
  503: ErrorSchema,
  504: ErrorSchema,
};

/** What follows `/v1/accounts/<id>/proxy/` in the URL as sent (still percent-encoded), and the query. */
function proxiedPath(rawUrl: string): { path: string; query: string } {
  const q = rawUrl.indexOf('?');
  const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const marker = pathname.indexOf('/proxy/', '/v1/accounts/'.length);
  return { path: pathname.slice(marker + '/proxy/'.length), query: q < 0 ? '' : rawUrl.slice(q + 1) };
}

/** A signal that fires when the caller's connection closes before the answer is complete. */
function callerGone(reply: FastifyReply): CallerGone {
  const gone = new CallerGone();
  // 'close' comes once per response: no need for once()'s wrapper
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  return gone;
}

/** A provider's answer served from Gatehouse's origin runs nothing there, even as HTML in a browser. */
const PROXIED_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

// Promises rather than async functions from the handlers down: each async layer added promises
// and turns of the microtask queue to every call.
function forward(services: Services, reply: FastifyReply, call: ProxyCall): Promise<FastifyReply> {
  return proxyCall(services, call).then((answer) =>
    reply.code(answer.status).headers(answer.headers).header('content-security-policy', PROXIED_CSP).send(answer.body),
  );
}

/**
 * The provider proxy (`ANY /v1/accounts/:id/proxy/*`, Kloudless' `POST /v1/accounts/:id/raw`)
 * and the credentials endpoint. Bodies are not parsed here: the request stream goes to the
 * provider as it arrives (this plugin's only content-type parser passes it through).
 */
export function proxyRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    app.addHook('preHandler', requireCaller(services));

    app.route({
      method: [...PROXY_METHODS],
      url: '/v1/accounts/:id/proxy/*',
      exposeHeadRoute: false,
      schema: {
        params: Type.Object({ id: AccountIdParams.properties.id, '*': Type.String() }),
        headers: ProxyHeaders,
        summary: "Call the provider's API as the account: the path after /proxy/ is appended to the provider's proxy base URL",
        tags: ['proxy'],
        security: API_KEY_OR_TOKEN('proxy'),
        consumes: ['*/*'],
        response: { ...errors, ...PASSED_THROUGH },
      },
      // not async (see forward); Fastify answers what this throws as it would a rejection
      handler: (request, reply) => {
        const accountId = request.params.id;
        const appId = appIdFor(request, 'proxy', accountId);
        return forward(services, reply, {
          appId,
          accountId,
          method: request.method,
          target: proxiedPath(request.raw.url ?? request.url),
          headers: request.headers,
          body: (request.body as Readable | undefined) ?? null,
          retries: request.headers['gatehouse-retries'] ?? 0,
          gone: callerGone(reply),
        });
      },
    });

    app.post(
      '/v1/accounts/:id/raw',
      {
        schema: {
          summary: 'Call the provider as the account at X-Raw-URI with X-Raw-Method (the raw form of the proxy)',
          tags: ['proxy'],
          security: API_KEY_OR_TOKEN('proxy'),
          consumes: ['*/*'],
          params: AccountIdParams,
          headers: RawHeaders,
          response: { ...errors, ...PASSED_THROUGH },
        },
      },
      (request, reply) => {
        const accountId = request.params.id;
        const appId = appIdFor(request, 'proxy', accountId);
        const method = request.headers['x-raw-method'] ?? 'POST';
        let body = (request.body as Readable | undefined) ?? null;
        if (body && (method === 'GET' || method === 'HEAD')) {
          body.resume(); // a GET or HEAD carries no body upstream: drain it
          body = null;
        }
        return forward(services, reply, {
          appId,
          accountId,
          method,
          target: { rawUri: request.headers['x-raw-uri'] },
          headers: request.headers,
          dropHeaders: ['x-raw-uri', 'x-raw-method'],
          body,
          retries: request.headers['gatehouse-retries'] ?? 0,
          gone: callerGone(reply),
        });
      },
    );

    app.get(
      '/v1/accounts/:id/credentials',
      {
        schema: {
          summary: "The account's upstream access token (API key only, off unless enabled for the app)",
          tags: ['proxy'],
          security: API_KEY_ONLY,
          params: AccountIdParams,
          response: { 200: CredentialsSchema, ...errors },
        },
      },
      async (request, reply) => {
        const caller = request.caller!;
        if (caller.rights !== null) fail(ErrorCode.insufficientScope, 'upstream credentials are for the app API key only');
        const credentials = await readCredentials(services, caller.app, request.params.id);
        return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(credentials);
      },
    );
  };
}
