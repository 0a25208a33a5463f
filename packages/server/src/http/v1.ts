import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { accountScopes, getAccount, importAccount, listAccounts, releaseAccount, updateAccountMetadata } from '../accounts/index.ts';
import { createConnectSession } from '../authorization/index.ts';
import type { Services } from '../services.ts';
import { callerOf, requireApiKey } from './auth.ts';
import {
  AccountIdParams,
  AccountPageSchema,
  AccountSchema,
  ErrorSchema,
  ImportAccountBody,
  ListAccountsQuery,
  PatchAccountBody,
  RevocationSchema,
  ScopesSchema,
} from './schemas.ts';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema };

/** The app-facing API, authenticated by the app's API key. */
export function v1Routes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addHook('preHandler', requireApiKey(services));

    app.get('/v1/accounts', { schema: { querystring: ListAccountsQuery, response: { 200: AccountPageSchema, ...errors } } }, async (request) => {
      const { provider, end_user, status, cursor, limit } = request.query;
      return listAccounts(services, callerOf(request).id, { provider, endUser: end_user, status, cursor, limit });
    });

    app.post(
      '/v1/accounts',
      { schema: { body: ImportAccountBody, response: { 200: AccountSchema, 201: AccountSchema, ...errors, 502: ErrorSchema } } },
      async (request, reply) => {
        const { account, created } = await importAccount(services, callerOf(request).id, request.body);
        return reply.code(created ? 201 : 200).send(account);
      },
    );

    app.get('/v1/accounts/:id', { schema: { params: AccountIdParams, response: { 200: AccountSchema, ...errors } } }, async (request) =>
      getAccount(services, callerOf(request).id, request.params.id),
    );

    app.patch(
      '/v1/accounts/:id',
      { schema: { params: AccountIdParams, body: PatchAccountBody, response: { 200: AccountSchema, ...errors } } },
      async (request) => updateAccountMetadata(services, callerOf(request).id, request.params.id, request.body.metadata),
    );

    app.delete(
      '/v1/accounts/:id',
      {
        schema: {
          params: AccountIdParams,
          response: { 200: Type.Object({ account: AccountSchema, upstream_revocation: RevocationSchema }), ...errors },
        },
      },
      async (request) => releaseAccount(services, callerOf(request).id, request.params.id),
    );

    app.get('/v1/accounts/:id/scopes', { schema: { params: AccountIdParams, response: { 200: ScopesSchema, ...errors } } }, async (request) =>
      accountScopes(services, callerOf(request).id, request.params.id),
    );

    app.post(
      '/v1/connect/sessions',
      {
        schema: {
          body: Type.Object(
            {
              end_user: Type.Object(
                {
                  id: Type.String({ minLength: 1, maxLength: 256 }),
                  email: Type.Optional(Type.String({ maxLength: 320 })),
                  name: Type.Optional(Type.String({ maxLength: 256 })),
                },
                { additionalProperties: false },
              ),
              allowed_providers: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 })),
            },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ token: Type.String(), expires_at: Type.String() }), ...errors },
        },
      },
      async (request, reply) => {
        const { token, expiresAt } = await createConnectSession(services, callerOf(request).id, {
          endUser: request.body.end_user,
          allowedProviders: request.body.allowed_providers,
        });
        return reply.code(201).header('cache-control', 'no-store').send({ token, expires_at: new Date(expiresAt).toISOString() });
      },
    );
  };
}
