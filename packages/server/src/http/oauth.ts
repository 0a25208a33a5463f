import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  API_RIGHTS,
  appTrusting,
  authenticateClient,
  authorizationCodeGrant,
  authorizationServerMetadata,
  clientCredentialsGrant,
  findAccessToken,
  introspect,
  rememberedAccessToken,
  rememberedIntrospection,
  type ClientCredentials,
  type AccessTokenFacts,
  refreshTokenGrant,
  revokeToken,
} from '../authorization/index.ts';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { bearerToken } from './auth.ts';
import { ErrorSchema, IntrospectionSchema, VerificationSchema, type Verification } from './schemas.ts';

const FORM = ['application/x-www-form-urlencoded'];

// the same answer for as long as the token's facts are remembered (formatting the date was a visible cost)
const verifications = new WeakMap<AccessTokenFacts, Verification>();

/** What the verify endpoint says of a live access token. */
function verification(token: AccessTokenFacts): Verification {
  let answer = verifications.get(token);
  if (!answer) {
    answer = Object.freeze({ client_id: token.app_id, account_id: token.account_id, scope: token.scope, expires_at: new Date(token.expires_at).toISOString() });
    verifications.set(token, answer);
  }
  return answer;
}
/** client_secret_basic, or client_secret_post / none with client_id in the form (the empty requirement). */
const CLIENT_AUTH: Record<string, string[]>[] = [{ clientSecretBasic: [] }, {}];

const FormField = Type.Optional(Type.String({ maxLength: 4096 }));
const TokenForm = Type.Object({
  grant_type: FormField,
  scope: FormField,
  client_id: FormField,
  client_secret: FormField,
  code: FormField,
  redirect_uri: FormField,
  code_verifier: FormField,
  refresh_token: FormField,
});
const TokenParamForm = Type.Object({ token: FormField, token_type_hint: FormField, client_id: FormField, client_secret: FormField });

function clientCredentials(request: FastifyRequest, body: { client_id?: string; client_secret?: string }): ClientCredentials {
  return { authorization: request.headers.authorization, body: { clientId: body.client_id, clientSecret: body.client_secret } };
}

function client(services: Services, request: FastifyRequest, body: { client_id?: string; client_secret?: string }) {
  return authenticateClient(services, clientCredentials(request, body));
}

const OpenObject = Type.Object({}, { additionalProperties: true });

/** Gatehouse as an OAuth 2.0 authorization server for apps. */
export function oauthRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    // every answer here goes out with Cache-Control: no-store and Pragma: no-cache (secureResponses)
    app.addContentTypeParser('application/json', (_request, _body, done) =>
      done(Object.assign(new Error('send the parameters as application/x-www-form-urlencoded'), { statusCode: 415 })),
    );

    app.get(
      '/.well-known/oauth-authorization-server',
      { schema: { summary: 'Authorization server metadata (RFC 8414)', tags: ['oauth'], response: { 200: OpenObject } } },
      async () =>
      authorizationServerMetadata(services.config.baseUrl, [...API_RIGHTS]),
    );

    // CORS for the browser authenticator: a public app's page exchanges its code here, as a simple
    // request (form body, no credentials). Only the app's trusted origins are let read the answer;
    // /oauth/authorize never gets CORS.
    const allowTrustedOrigin = async (request: FastifyRequest, reply: FastifyReply) => {
      const origin = request.headers.origin;
      if (!origin) return;
      reply.header('vary', 'Origin');
      const clientId = (request.body as { client_id?: unknown } | undefined)?.client_id;
      if (typeof clientId === 'string' && (await appTrusting(services, clientId, origin))) reply.header('access-control-allow-origin', origin);
    };

    app.post(
      '/oauth/token',
      {
        preHandler: allowTrustedOrigin,
        schema: {
          summary: 'Token endpoint: authorization_code (+PKCE), refresh_token (rotating), client_credentials',
          tags: ['oauth'],
          security: CLIENT_AUTH,
          consumes: FORM,
          body: TokenForm,
          response: { 200: OpenObject, 400: ErrorSchema, 401: ErrorSchema },
        },
      },
      async (request) => {
      const { grant_type: grantType, scope } = request.body;
      if (!grantType) fail(ErrorCode.invalidRequest, 'grant_type is required');
      const { app: caller } = await client(services, request, request.body);
      const { code, redirect_uri: redirectUri, code_verifier: codeVerifier, refresh_token: refreshToken } = request.body;
      if (grantType === 'authorization_code') return authorizationCodeGrant(services, caller, { code, redirectUri, codeVerifier });
      if (grantType === 'refresh_token') return refreshTokenGrant(services, caller, { refreshToken, scope });
      if (grantType === 'client_credentials') return clientCredentialsGrant(services, caller, scope);
      return fail(ErrorCode.unsupportedGrantType, `grant_type "${grantType}" is not supported`);
    });

    app.post(
      '/oauth/introspect',
      {
        schema: {
          summary: 'Token introspection (RFC 7662); a client sees only its own tokens as active',
          tags: ['oauth'],
          description: 'Client authentication is required: client_secret_basic or client_secret_post.',
          security: CLIENT_AUTH,
          consumes: FORM,
          body: TokenParamForm,
          response: { 200: IntrospectionSchema, 400: ErrorSchema, 401: ErrorSchema },
        },
      },
      // not async: a client and token both seen within the last second are answered without a promise
      (request) => {
        const token = request.body.token;
        const client = authenticateClient(services, clientCredentials(request, request.body));
        // a client answered at once was remembered after authenticating with a secret: never the method "none"
        if (!(client instanceof Promise) && token !== undefined) return rememberedIntrospection(services, client.app, token) ?? introspect(services, client.app, token);
        return Promise.resolve(client).then(({ app: caller, method }) => {
          if (method === 'none') fail(ErrorCode.invalidClient, 'introspection requires client authentication');
          return introspect(services, caller, token ?? fail(ErrorCode.invalidRequest, 'token is required'));
        });
      },
    );

    app.post(
      '/oauth/revoke',
      {
        schema: {
          summary: 'Token revocation (RFC 7009)',
          tags: ['oauth'],
          security: CLIENT_AUTH,
          consumes: FORM,
          body: TokenParamForm,
          response: { 200: Type.Null(), 400: ErrorSchema, 401: ErrorSchema },
        },
      },
      async (request, reply) => {
      const { app: caller } = await client(services, request, request.body);
      const token = request.body.token ?? fail(ErrorCode.invalidRequest, 'token is required');
      await revokeToken(services, caller, token);
      return reply.code(200).send(null);
    });

    app.get(
      '/v1/oauth/token',
      {
        schema: {
          summary: 'Verify an access token: which client and account it was minted for (confused-deputy check)',
          tags: ['oauth'],
          security: [{ accessToken: [] }],
          response: {
            200: VerificationSchema,
            401: ErrorSchema,
          },
        },
      },
      // not async: a token seen within the last second is answered without a promise
      (request) => {
        const token = bearerToken(request) ?? fail(ErrorCode.invalidToken, 'send the access token as Authorization: Bearer gha_…');
        const known = rememberedAccessToken(services, token);
        if (known) return verification(known);
        return findAccessToken(services, token).then((row) => verification(row ?? fail(ErrorCode.invalidToken, 'the access token is not valid')));
      },
    );
  };
}
