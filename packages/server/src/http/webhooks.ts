import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { disableWebhook, getWebhook, listDeliveries, setWebhook } from '../webhooks/index.ts';
import { requireCaller } from './auth.ts';
import { API_KEY_ONLY, DeliveriesQuery, DeliveryPageSchema, ErrorSchema, WebhookBody, WebhookSchema, WebhookSecretSchema } from './schemas.ts';

const docs = (summary: string) => ({ summary, tags: ['webhooks'], security: API_KEY_ONLY });

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema };

/** The app's id, for the API key only: a webhook's secret is the app's, not an account token's. */
function apiKeyApp(request: FastifyRequest): string {
  if (request.caller!.rights !== null) fail(ErrorCode.insufficientScope, 'webhooks are managed with the app API key only');
  return request.caller!.app.id;
}

/** The app's webhook: set (the secret shown once), read (never the secret), turn off, and its deliveries. */
export function webhookRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addHook('preHandler', requireCaller(services));

    app.put('/v1/webhook', { schema: { ...docs('Set the app\'s webhook URL; the signing secret is shown once'), body: WebhookBody, response: { 200: WebhookSecretSchema, ...errors } } }, async (request, reply) => {
      const created = await setWebhook(services, apiKeyApp(request), request.body.url);
      return reply.header('cache-control', 'no-store').send(created);
    });

    app.get('/v1/webhook', { schema: { ...docs('The app\'s webhook (never its secret)'), response: { 200: WebhookSchema, ...errors } } }, async (request) => getWebhook(services, apiKeyApp(request)));

    app.delete('/v1/webhook', { schema: { ...docs('Turn the app\'s webhook off'), response: { 200: WebhookSchema, ...errors } } }, async (request) =>
      disableWebhook(services, apiKeyApp(request)),
    );

    app.get('/v1/webhook/deliveries', { schema: { ...docs('The webhook\'s deliveries, newest first'), querystring: DeliveriesQuery, response: { 200: DeliveryPageSchema, ...errors } } }, async (request) =>
      listDeliveries(services, apiKeyApp(request), request.query),
    );
  };
}
