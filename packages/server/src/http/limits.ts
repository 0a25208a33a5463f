import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseBasic } from '../authorization/index.ts';
import type { RateLimitGroup } from '../config.ts';
import { ErrorCode } from '../errors.ts';
import type { Services } from '../services.ts';
import { bearerToken } from './auth.ts';
import { sendError } from './errors.ts';

/** Which bucket a route pattern counts against; undefined = not limited (probes, metrics, discovery, assets). */
export function rateLimitGroupOf(route: string | undefined): RateLimitGroup | undefined {
  if (!route) return undefined;
  if (route === '/oauth/token') return 'token';
  if (route === '/oauth/authorize' || route === '/oauth/authorize/connect' || route === '/oauth/consent') return 'authorize';
  if (route === '/sdk/relay' || route === '/sdk/relay/result') return 'authorize';
  if (route === '/oauth/introspect' || route === '/oauth/revoke') return 'introspect';
  if (route.startsWith('/connect/')) return 'connect';
  if (route.startsWith('/v1/')) return 'api';
  return undefined;
}

const hash = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 32);

/**
 * The client a request speaks for, as a hash (never a secret, never a raw credential):
 * - /oauth/token, /oauth/introspect, /oauth/revoke: the client credentials it presents (Basic, or
 *   client_id + client_secret in the form). Keying by the credential rather than the bare
 *   client_id means nobody can spend another client's budget by naming its client_id with a
 *   wrong secret; such requests land in a bucket of their own, which the per-IP limit bounds.
 *   A public client (no secret) is keyed by its client_id.
 * - /v1/*: the bearer API key or access token.
 * - pages (/oauth/authorize, consent, /connect/*): none. Their client_id is unauthenticated and
 *   in every user's browser; a per-client bucket there would let anyone lock an app's users out.
 */
function clientKeyOf(group: RateLimitGroup, request: FastifyRequest): string | undefined {
  if (group === 'api') {
    const token = bearerToken(request);
    return token ? hash(`bearer\n${token}`) : undefined;
  }
  if (group === 'token' || group === 'introspect') {
    const header = request.headers.authorization;
    if (header && /^Basic /i.test(header)) {
      try {
        const basic = parseBasic(header);
        if (basic) return hash(`client\n${basic.clientId}\n${basic.clientSecret}`);
      } catch {
        // malformed: the handler refuses it; count it under the header as sent
      }
      return hash(`header\n${header}`);
    }
    const body = request.body as { client_id?: unknown; client_secret?: unknown } | undefined;
    if (body && typeof body.client_id === 'string' && body.client_id) {
      const secret = typeof body.client_secret === 'string' ? body.client_secret : '';
      return hash(`client\n${body.client_id}\n${secret}`);
    }
  }
  return undefined;
}

type Limiter = (request: FastifyRequest) => ReturnType<ReturnType<FastifyInstance['createRateLimit']>>;

/**
 * Per-instance request limits (@fastify/rate-limit's in-memory store): with N instances behind
 * a load balancer a client gets up to N times the configured rate. Each group has two fixed
 * one-minute windows that both apply: per source IP (request.ip, so X-Forwarded-For only with
 * GATEHOUSE_TRUST_PROXY=true), checked on arrival before the body is read, and per client,
 * checked once the body is parsed (the client may be named in the form). Over a limit: 429 with
 * Retry-After in seconds and `{ error: "too_many_requests", error_description }`.
 * Call before the routes are registered so the hooks cover them.
 */
export async function installRateLimits(app: FastifyInstance, services: Services): Promise<void> {
  const limits = services.config.rateLimits;
  if (!limits) return;
  // global: false — the plugin adds no hooks itself; the limiters below are called from ours.
  await app.register(rateLimit, { global: false });
  // LocalStore's LRU size per limiter (its default is 5,000 keys); not in the option types but honoured
  const window = { timeWindow: 60_000, cache: 50_000 };
  const limiters = new Map<string, Limiter>();
  for (const [group, limit] of Object.entries(limits) as [RateLimitGroup, { perClient: number; perIp: number }][]) {
    limiters.set(
      `${group}:ip`,
      app.createRateLimit({ ...window, max: limit.perIp, keyGenerator: (request) => `${group}:ip:${request.ip}` }),
    );
    limiters.set(
      `${group}:client`,
      app.createRateLimit({
        ...window,
        max: limit.perClient,
        keyGenerator: (request) => `${group}:client:${clientKeyOf(group, request)}`,
      }),
    );
  }

  async function check(request: FastifyRequest, reply: FastifyReply, scope: 'ip' | 'client') {
    const group = rateLimitGroupOf(request.routeOptions.url);
    if (!group) return;
    if (scope === 'client' && clientKeyOf(group, request) === undefined) return;
    const result = await limiters.get(`${group}:${scope}`)!(request);
    if (result.isAllowed || !result.isExceeded) return;
    const retryAfter = Math.max(1, result.ttlInSeconds);
    request.log.info({ group, scope, retryAfter }, 'rate limited');
    return sendError(
      reply.header('retry-after', String(retryAfter)),
      ErrorCode.tooManyRequests,
      `too many requests${scope === 'client' ? ' for this client' : ' from this address'}; retry in ${retryAfter} s`,
    );
  }

  app.addHook('onRequest', async (request, reply) => check(request, reply, 'ip'));
  app.addHook('preValidation', async (request, reply) => check(request, reply, 'client'));
}
