import type { FastifyPluginAsync } from 'fastify';
import { STYLESHEET, STYLESHEET_PATH } from '../pages/index.ts';
import type { Services } from '../services.ts';
import { migrationsCurrent, ping } from '../store/index.ts';

/** Static assets of the pages, and the liveness and readiness probes. */
export function pageRoutes(services: Services): FastifyPluginAsync {
  return async (app) => {
    app.get(STYLESHEET_PATH, async (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
    );
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
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
