import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { STYLESHEET, STYLESHEET_PATH } from '../pages/index.ts';
import type { Services } from '../services.ts';
import { migrationsCurrent, ping } from '../store/index.ts';

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Object({ database: Type.Boolean(), migrations: Type.Boolean() }),
});

/** Static assets of the pages, and the liveness and readiness probes. */
export function pageRoutes(services: Services): FastifyPluginAsync {
  return async (app) => {
    app.get(
      STYLESHEET_PATH,
      { schema: { summary: 'The pages\' stylesheet', tags: ['ops'], response: { 200: { description: 'CSS', content: { 'text/css': { schema: Type.String() } } } } } },
      async (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
    );
    app.get(
      '/healthz',
      { schema: { summary: 'Liveness: the process is up', tags: ['ops'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    );
    app.get(
      '/readyz',
      {
        schema: {
          summary: 'Readiness: the database answers and its migrations are current',
          tags: ['ops'],
          response: { 200: Readiness, 503: { ...Readiness, description: 'Not ready: see checks' } },
        },
      },
      async (_request, reply) => {
      const checks = { database: false, migrations: false };
      try {
        await ping(services.db);
        checks.database = true;
        checks.migrations = await migrationsCurrent(services.db);
      } catch {
        // reported below as not ready
      }
      const ready = checks.database && checks.migrations;
      return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ready' : 'not_ready', checks });
    });
  };
}
