import type { FastifyRequest } from 'fastify';
import { appForApiKey, findAccessToken, toAppView, type ApiRight, type AppView } from '../authorization/index.ts';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { findAppById } from '../store/index.ts';

/** Who is calling the API: an app by its API key (every right), or by a Gatehouse access token. */
export interface Caller {
  app: AppView;
  /** null for the API key. */
  rights: Set<string> | null;
  /** The one account an account-bound token reaches; null reaches every account of the app. */
  accountId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** The bearer value of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ ]+([\x21-\x7E]+)\s*$/i.exec(header);
  return match?.[1];
}

/** A preHandler admitting an app's API key (`ghk_…`) or a live Gatehouse access token (`gha_…`). */
export function requireCaller(services: Services) {
  return async (request: FastifyRequest) => {
    const token = bearerToken(request) ?? fail(ErrorCode.invalidToken, 'send the app API key or an access token as Authorization: Bearer …');
    if (token!.startsWith('gha_')) {
      const row = (await findAccessToken(services, token!)) ?? fail(ErrorCode.invalidToken, 'the access token is not valid');
      const app = (await findAppById(services.db, row.app_id)) ?? fail(ErrorCode.invalidToken, 'the access token is not valid');
      request.caller = { app: toAppView(app), rights: new Set(row.scopes), accountId: row.account_id };
      return;
    }
    const app = (await appForApiKey(services, token!)) ?? fail(ErrorCode.invalidToken, 'the API key is not valid');
    request.caller = { app, rights: null, accountId: null };
  };
}

/**
 * The calling app's id, once the caller holds `right` and (for an account-bound token) the
 * account is its own. Another account looks like a missing one: not_found, never a hint.
 */
export function appIdFor(request: FastifyRequest, right: ApiRight, accountId?: string): string {
  const caller = request.caller ?? fail(ErrorCode.invalidToken, 'not authenticated');
  if (caller.rights && !caller.rights.has(right)) fail(ErrorCode.insufficientScope, `this token lacks the "${right}" scope`);
  if (caller.accountId !== null && accountId !== undefined && accountId !== caller.accountId) fail(ErrorCode.notFound, 'no such account');
  return caller.app.id;
}
