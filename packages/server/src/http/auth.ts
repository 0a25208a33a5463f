import type { FastifyRequest, preHandlerHookHandler } from 'fastify';
import { apiCaller, rememberedApiCaller, type ApiCaller, type ApiRight } from '../authorization/index.ts';
import { ErrorCode, fail, GatehouseError } from '../errors.ts';
import type { Services } from '../services.ts';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: ApiCaller;
  }
}

/** The bearer value of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ ]+([\x21-\x7E]+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * A preHandler admitting an app's API key (`ghk_…`) or a live Gatehouse access token (`gha_…`).
 * Callback style: a credential seen within the last second is admitted without a promise or a
 * turn of the event loop, which was a large part of a small API call's cost.
 */
export function requireCaller(services: Services): preHandlerHookHandler {
  return (request, _reply, done) => {
    const token = bearerToken(request);
    if (token === undefined) return done(new GatehouseError(ErrorCode.invalidToken, 'send the app API key or an access token as Authorization: Bearer …'));
    const known = rememberedApiCaller(services, token);
    if (known) {
      request.caller = known;
      return done();
    }
    apiCaller(services, token).then((caller) => {
      if (!caller) return done(new GatehouseError(ErrorCode.invalidToken, token.startsWith('gha_') ? 'the access token is not valid' : 'the API key is not valid'));
      request.caller = caller;
      done();
    }, done);
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
