import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../errors.ts';
import { metricsFor, setAccountCounter } from '../metrics/index.ts';
import type { Services } from '../services.ts';
import type { AccountStatus } from '../store/index.ts';
import { bearerToken } from './auth.ts';
import { sendError } from './errors.ts';
import { ErrorSchema } from './schemas.ts';

export const METRICS_PATH = '/metrics';
const ACCOUNT_STATUSES: AccountStatus[] = ['active', 'needs_reauth', 'revoked'];
const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials']);

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * What every finished request adds to the metrics: its duration by route pattern (never the raw
 * URL), and token issuance counted from successful /oauth/token answers. The server's log
 * controller calls it once a response has gone (see RequestLogLines): there it costs no hook,
 * while an onResponse hook cost every request about 5% of a small answer's CPU.
 */
export function requestObserver(services: Services): (request: FastifyRequest, reply: FastifyReply) => void {
  const metrics = metricsFor(services);
  return (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (route === '/oauth/token' && request.method === 'POST' && reply.statusCode === 200) {
      const grantType = (request.body as { grant_type?: unknown } | undefined)?.grant_type;
      metrics.tokensIssued.inc({ grant_type: typeof grantType === 'string' && GRANT_TYPES.has(grantType) ? grantType : 'other' });
    }
  };
}

/**
 * Prometheus metrics of this instance: the accounts gauge read from the database on scrape, and
 * GET /metrics (behind a bearer token when GATEHOUSE_METRICS_TOKEN is set). Requests are counted
 * by requestObserver.
 */
export function installMetrics(app: FastifyInstance, services: Services): void {
  const metrics = metricsFor(services);
  setAccountCounter(metrics, async () => {
    try {
      const rows = await services.db
        .selectFrom('accounts')
        .select((eb) => ['status', eb.fn.countAll<number | string | bigint>().as('count')])
        .groupBy('status')
        .execute();
      // statuses with no account still appear, at 0
      const counts = new Map<string, number>(ACCOUNT_STATUSES.map((status) => [status, 0]));
      for (const row of rows) counts.set(row.status, Number(row.count));
      return [...counts].map(([status, count]) => ({ status, count }));
    } catch (err) {
      // the rest of the scrape is still worth having; the gauge is left empty
      services.logger.error({ err }, 'counting accounts for /metrics failed');
      return [];
    }
  });

  const expected = services.config.metricsToken === undefined ? undefined : digest(services.config.metricsToken);
  app.get(
    METRICS_PATH,
    {
      schema: {
        summary: 'Prometheus metrics of this instance',
        tags: ['ops'],
        ...(expected ? { security: [{ metricsToken: [] }] } : {}),
        response: {
          200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...(expected ? { 401: ErrorSchema } : {}),
        },
      },
    },
    async (request, reply) => {
    if (expected) {
      const token = bearerToken(request);
      if (!token || !timingSafeEqual(digest(token), expected)) {
        return sendError(reply, ErrorCode.invalidToken, 'send the metrics token as Authorization: Bearer …');
      }
    }
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
}
