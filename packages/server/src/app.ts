import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import formbody from '@fastify/formbody';
import { ErrorCode } from './errors.ts';
import {
  answerClientError,
  authorizeRoutes,
  collectRoutes,
  connectRoutes,
  docsRoutes,
  installErrorHandler,
  installMetrics,
  installRateLimits,
  oauthRoutes,
  pageRoutes,
  proxyRoutes,
  RequestLogLines,
  requestObserver,
  sdkRoutes,
  secureResponses,
  sendError,
  v1Routes,
  webhookRoutes,
} from './http/index.ts';
import type { Services } from './services.ts';
import { lazyChildLogger } from './logger.ts';
import type { Logger } from 'pino';

export const BODY_LIMIT_BYTES = 256 * 1024;

/** Builds the Fastify instance from its plugins; listening is main.ts's job, so tests need no port. */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.logger as FastifyBaseLogger,
    childLoggerFactory: (logger, bindings, options) =>
      lazyChildLogger(logger as Logger, bindings, options as Record<string, unknown>) as FastifyBaseLogger,
    logController: new RequestLogLines(services.logger.isLevelEnabled('info'), requestObserver(services)),
    trustProxy: services.config.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    // Node drops a request that has not fully arrived in time (answered 408 by answerClientError);
    // it looks for such requests every connectionsCheckingInterval, so that follows the timeout
    requestTimeout: services.config.requestTimeoutMs,
    http: {
      // the security and no-store headers of every answer (see secureResponses)
      ServerResponse: secureResponses({ hsts: services.config.baseUrl.startsWith('https:') }),
      requestTimeout: services.config.requestTimeoutMs,
      headersTimeout: Math.min(60_000, services.config.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(services.config.requestTimeoutMs / 4))),
    },
    // Node's parser refusals (bad bytes in the URL, header overflow) in the same RFC 6749 shape
    clientErrorHandler: answerClientError,
    // A bad URL or an over-long path parameter is answered before routing, past the error
    // handler: give it the same RFC 6749 body, without echoing the URL back.
    frameworkErrors: (err, _request, reply) =>
      sendError(reply, ErrorCode.invalidRequest, err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is not valid'),
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // first, so the OpenAPI document (and the route fuzzing) sees every route
  const routes = collectRoutes(app);
  installErrorHandler(app);
  installMetrics(app, services);
  await installRateLimits(app, services);
  await app.register(formbody);
  await app.register(pageRoutes(services));
  await app.register(connectRoutes(services));
  await app.register(oauthRoutes(services));
  await app.register(authorizeRoutes(services));
  await app.register(v1Routes(services));
  await app.register(docsRoutes(services, routes));
  await app.register(proxyRoutes(services));
  await app.register(webhookRoutes(services));
  await app.register(sdkRoutes(services));
  return app;
}
