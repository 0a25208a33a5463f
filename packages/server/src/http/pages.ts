import type { FastifyPluginAsync } from 'fastify';
import { STYLESHEET, STYLESHEET_PATH } from '../pages/index.ts';

/** Static assets of the pages, and the liveness probe. */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  app.get(STYLESHEET_PATH, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
  app.get('/healthz', async () => ({ status: 'ok' }));
};
