import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { accountScopes, getAccount, importAccount, listAccounts, refreshAccount, releaseAccount, updateAccountMetadata } from '../accounts/index.ts';
import { listAudit } from '../audit/index.ts';
import { createConnectSession, revokeEndUserTokens } from '../authorization/index.ts';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { appIdFor, requireCaller } from './auth.ts';
import {
  AccountIdParams,
  AccountPageSchema,
  AccountSchema,
  AuditPageSchema,
  ErrorSchema,
  ImportAccountBody,
  ListAccountsQuery,
  PatchAccountBody,
  RevocationSchema,
  ScopesSchema,
  API_KEY_ONLY,
  API_KEY_OR_TOKEN,
} from './schemas.ts';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

/** The app-facing API: the app's API key, or a Gatehouse access token within its scope. */
export function v1Routes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addHook('preHandler', requireCaller(services));

    app.get('/v1/accounts', { schema: { summary: 'List the app\'s accounts (cursor paging, filters)', tags: ['accounts'], security: API_KEY_OR_TOKEN('accounts:read'), querystring: ListAccountsQuery, response: { 200: AccountPageSchema, ...errors } } }, async (request) => {
      const { provider, end_user, status, cursor, limit } = request.query;
      const appId = appIdFor(request, 'accounts:read');
      return listAccounts(services, appId, { provider, endUser: end_user, status, cursor, limit, onlyId: request.caller!.accountId ?? undefined });
    });

    app.post(
      '/v1/accounts',
      {
        schema: {
          summary: 'Import an existing upstream token set as an account',
          tags: ['accounts'],
          security: API_KEY_OR_TOKEN('accounts:write'),
          body: ImportAccountBody, response: { 200: AccountSchema, 201: AccountSchema, ...errors, 502: ErrorSchema, 503: ErrorSchema },
        },
      },
      async (request, reply) => {
        const { account, created } = await importAccount(services, appIdFor(request, 'accounts:write'), request.body);
        return reply.code(created ? 201 : 200).send(account);
      },
    );

    app.get('/v1/accounts/:id', { schema: { summary: 'One account', tags: ['accounts'], security: API_KEY_OR_TOKEN('accounts:read'), params: AccountIdParams, response: { 200: AccountSchema, ...errors } } }, async (request) =>
      getAccount(services, appIdFor(request, 'accounts:read', request.params.id), request.params.id),
    );

    app.patch(
      '/v1/accounts/:id',
      {
        schema: {
          summary: 'Replace the app\'s metadata of an account',
          tags: ['accounts'],
          security: API_KEY_OR_TOKEN('accounts:write'),
          params: AccountIdParams,
          body: PatchAccountBody, response: { 200: AccountSchema, ...errors },
        },
      },
      async (request) => updateAccountMetadata(services, appIdFor(request, 'accounts:write', request.params.id), request.params.id, request.body.metadata),
    );

    app.delete(
      '/v1/accounts/:id',
      {
        schema: {
          summary: 'Release an account: revoke upstream (RFC 7009) and wipe its sealed tokens',
          tags: ['accounts'],
          security: API_KEY_OR_TOKEN('accounts:write'),
          params: AccountIdParams,
          response: { 200: Type.Object({ account: AccountSchema, upstream_revocation: RevocationSchema }), ...errors },
        },
      },
      async (request) => releaseAccount(services, appIdFor(request, 'accounts:write', request.params.id), request.params.id),
    );

    app.get('/v1/accounts/:id/scopes', { schema: { summary: 'The scopes granted upstream, with descriptions', tags: ['accounts'], security: API_KEY_OR_TOKEN('accounts:read'), params: AccountIdParams, response: { 200: ScopesSchema, ...errors } } }, async (request) =>
      accountScopes(services, appIdFor(request, 'accounts:read', request.params.id), request.params.id),
    );

    app.post(
      '/v1/accounts/:id/refresh',
      {
        schema: {
          summary: 'Refresh the upstream tokens now (single-flight); never returns a token',
          tags: ['accounts'],
          security: API_KEY_OR_TOKEN('accounts:write'),
          params: AccountIdParams,
          querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
          response: {
            200: Type.Composite([AccountSchema, Type.Object({ expires_at: Type.Union([Type.String(), Type.Null()]) })]),
            ...errors,
            409: ErrorSchema,
            424: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        const account = await refreshAccount(services, appIdFor(request, 'accounts:write', request.params.id), request.params.id, {
          force: request.query.force,
        });
        return reply.header('cache-control', 'no-store').send(account);
      },
    );

    const EndUserParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });

    app.get(
      '/v1/end-users/:id/accounts',
      {
        schema: {
          summary: 'The accounts of one end user',
          tags: ['end users'],
          security: API_KEY_OR_TOKEN('accounts:read'),
          params: EndUserParams,
          querystring: ListAccountsQuery, response: { 200: AccountPageSchema, ...errors },
        },
      },
      async (request) => {
        const appId = appIdFor(request, 'accounts:read');
        const { provider, status, cursor, limit } = request.query;
        return listAccounts(services, appId, {
          provider,
          endUser: request.params.id,
          status,
          cursor,
          limit,
          onlyId: request.caller!.accountId ?? undefined,
        });
      },
    );

    app.delete(
      '/v1/end-users/:id/tokens',
      {
        schema: {
          summary: 'Sign an end user out: revoke every Gatehouse token of their accounts (the accounts stay)',
          tags: ['end users'],
          security: API_KEY_ONLY,
          params: EndUserParams,
          response: { 200: Type.Object({ revoked_grants: Type.Integer() }), ...errors },
        },
      },
      async (request) => {
        if (request.caller!.rights !== null) fail(ErrorCode.insufficientScope, 'signing an end user out takes the app API key');
        return revokeEndUserTokens(services, request.caller!.app.id, request.params.id);
      },
    );

    app.get(
      '/v1/audit',
      {
        schema: {
          summary: 'The app\'s audit log, newest first',
          tags: ['audit'],
          security: API_KEY_ONLY,
          querystring: Type.Object(
            {
              action: Type.Optional(Type.String({ maxLength: 64 })),
              cursor: Type.Optional(Type.String({ maxLength: 200 })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: AuditPageSchema, ...errors },
        },
      },
      async (request) => {
        if (request.caller!.rights !== null) fail(ErrorCode.insufficientScope, 'the audit log is for the app API key only');
        return listAudit(services, { appId: request.caller!.app.id, ...request.query });
      },
    );

    app.post(
      '/v1/connect/sessions',
      {
        schema: {
          summary: 'Create a connect session (ghs_) binding the next connection to an end user',
          tags: ['end users'],
          security: API_KEY_OR_TOKEN('accounts:write'),
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
        const { token, expiresAt } = await createConnectSession(services, appIdFor(request, 'accounts:write'), {
          endUser: request.body.end_user,
          allowedProviders: request.body.allowed_providers,
        });
        return reply.code(201).header('cache-control', 'no-store').send({ token, expires_at: new Date(expiresAt).toISOString() });
      },
    );
  };
}
