import type { FastifyRequest } from 'fastify';
import { appForApiKey, type AppView } from '../authorization/index.ts';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The app the request authenticated as (set by requireApiKey). */
    caller?: AppView;
  }
}

/** The bearer value of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ ]+([\x21-\x7E]+)\s*$/i.exec(header);
  return match?.[1];
}

/** A preHandler that admits a live API key of some app and records the app on the request. */
export function requireApiKey(services: Services) {
  return async (request: FastifyRequest) => {
    const token = bearerToken(request) ?? fail(ErrorCode.invalidToken, 'send the app API key as Authorization: Bearer ghk_…');
    const app = (await appForApiKey(services, token!)) ?? fail(ErrorCode.invalidToken, 'the API key is not valid');
    request.caller = app;
  };
}

export const callerOf = (request: FastifyRequest): AppView => request.caller ?? fail(ErrorCode.invalidToken, 'not authenticated');
