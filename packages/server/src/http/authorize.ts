import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authorize, connectForRequest, consentView, decideConsent } from '../authorization/index.ts';
import { chooserPage, consentPage } from '../pages/index.ts';
import type { Services } from '../services.ts';
import { htmlPage, pageErrors, redirect } from './schemas.ts';
import { pageCsp } from './security.ts';

export const BINDING_COOKIE = 'gh_authz';
const Param = Type.Optional(Type.String({ maxLength: 2048 }));
const AuthorizeQuery = Type.Object({
  response_type: Param,
  client_id: Param,
  redirect_uri: Param,
  scope: Param,
  state: Param,
  code_challenge: Param,
  code_challenge_method: Param,
  session_token: Param,
  provider: Param,
  login_hint: Param,
  account_id: Param,
});
const RequestQuery = Type.Object({ request: Type.String({ minLength: 1, maxLength: 200 }) });
const ConnectQuery = Type.Object({ request: Type.String({ minLength: 1, maxLength: 200 }), provider: Type.String({ minLength: 1, maxLength: 64 }) });
const ConsentForm = Type.Object({ request: Type.String({ minLength: 1, maxLength: 200 }), decision: Type.Optional(Type.String({ maxLength: 10 })) });

/** The browser-binding cookie's value, read from the Cookie header. */
function bindingOf(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === BINDING_COOKIE) return rest.join('=');
  }
  return undefined;
}

function html(reply: FastifyReply, body: string, csp?: string) {
  if (csp) reply.header('content-security-policy', csp);
  return reply.code(200).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);
}

/** Gatehouse's authorization endpoint (RFC 6749 §4.1): chooser, upstream sign-in, consent. */
export function authorizeRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    const secure = services.config.baseUrl.startsWith('https:');
    const bind = (reply: FastifyReply, value: string) =>
      reply.header('set-cookie', `${BINDING_COOKIE}=${value}; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=600${secure ? '; Secure' : ''}`);

    app.get(
      '/oauth/authorize',
      {
        config: { page: true },
        schema: {
          summary: 'Authorization endpoint (RFC 6749 §4.1): the provider chooser, then the upstream sign-in and consent',
          tags: ['oauth pages'],
          querystring: AuthorizeQuery,
          response: {
            200: htmlPage('The chooser: the providers the scope allows'),
            303: redirect('To the upstream sign-in, or back to the app with an error (only to a registered redirect_uri)'),
            ...pageErrors(400, 403, 404),
          },
        },
      },
      async (request, reply) => {
      const outcome = await authorize(services, request.query, bindingOf(request));
      if (outcome.kind === 'redirect') return reply.header('cache-control', 'no-store').redirect(outcome.url, 303);
      bind(reply, outcome.binding);
      if (outcome.providers.length === 1) {
        const { url } = await connectForRequest(services, outcome.handle, outcome.binding, outcome.providers[0]!.id);
        return reply.header('cache-control', 'no-store').redirect(url, 303);
      }
      return html(reply, chooserPage(outcome), outcome.popup ? pageCsp([], true) : undefined);
    });

    app.get(
      '/oauth/authorize/connect',
      {
        config: { page: true },
        schema: {
          summary: 'The chooser\'s choice: starts the upstream sign-in',
          tags: ['oauth pages'],
          querystring: ConnectQuery,
          response: { 303: redirect('To the upstream sign-in'), ...pageErrors(400, 403, 404) },
        },
      },
      async (request, reply) => {
      const { url } = await connectForRequest(services, request.query.request, bindingOf(request), request.query.provider);
      return reply.header('cache-control', 'no-store').redirect(url, 303);
    });

    app.get(
      '/oauth/consent',
      {
        config: { page: true },
        schema: {
          summary: 'The consent page (Allow / Deny)',
          tags: ['oauth pages'],
          querystring: RequestQuery,
          response: { 200: htmlPage('The consent page'), ...pageErrors(400, 403, 404) },
        },
      },
      async (request, reply) => {
      const view = await consentView(services, request.query.request, bindingOf(request));
      return html(reply, consentPage(view), pageCsp([view.redirectSource], view.popup !== undefined));
    });

    app.post(
      '/oauth/consent',
      {
        config: { page: true },
        schema: {
          summary: 'The consent decision; 303 back to the app with code, state and iss (or error=access_denied)',
          tags: ['oauth pages'],
          consumes: ['application/x-www-form-urlencoded'],
          body: ConsentForm,
          response: { 303: redirect('Back to the app\'s redirect_uri'), ...pageErrors(400, 403, 404) },
        },
      },
      async (request, reply) => {
      const url = await decideConsent(services, request.body.request, bindingOf(request), request.body.decision);
      return reply.header('cache-control', 'no-store').redirect(url, 303);
    });
  };
}
