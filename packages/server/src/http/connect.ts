import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { abandonAuthorization, attachAccount, authorizationRequestOf, endUserOfSession } from '../authorization/index.ts';
import { completeConnect } from '../accounts/index.ts';
import { ConnectFlowError, startConnect, CALLBACK_PATH } from '../connect/index.ts';
import { connectedPage } from '../pages/index.ts';
import type { Services } from '../services.ts';
import { CallbackQuery, ConnectParams, ConnectQuery, htmlPage, pageErrors, redirect } from './schemas.ts';

/** The upstream connect engine over HTTP: start (redirect upstream) and the upstream's callback. */
export function connectRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      CALLBACK_PATH,
      {
        config: { page: true },
        schema: {
          summary: 'Where the provider sends the browser back: validates, exchanges the code, stores the account',
          tags: ['connect'],
          // documents and bounds the parameters; the handler reads them from the raw query as sent
          querystring: CallbackQuery,
          response: {
            200: htmlPage('Account connected (or reconnected)'),
            303: redirect('On to the consent page, or back to the app with an error'),
            ...pageErrors(400, 403, 404, 502, 503),
          },
        },
      },
      async (request, reply) => {
      const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1 || request.url.length));
      const result = await completeConnect(services, query).catch(async (err: unknown) => {
        // a failed upstream sign-in started by /oauth/authorize is answered to the app, not shown here
        const pending = err instanceof ConnectFlowError ? authorizationRequestOf(err.context) : undefined;
        const url = pending ? await abandonAuthorization(services, pending, err as ConnectFlowError) : undefined;
        if (!url) throw err;
        request.log.info({ error: (err as ConnectFlowError).code }, 'upstream sign-in failed; answered to the app');
        return url;
      });
      if (typeof result === 'string') return reply.header('cache-control', 'no-store').redirect(result, 303);
      const handle = authorizationRequestOf(result.context);
      if (handle) {
        await attachAccount(services, handle, result.account);
        return reply.header('cache-control', 'no-store').redirect(`/oauth/consent?request=${encodeURIComponent(handle)}`, 303);
      }
      const entry = services.catalog.get(result.account.provider);
      return reply
        .code(200)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(
          connectedPage({
            providerName: entry?.name ?? result.account.provider,
            accountLabel: result.account.email ?? result.account.name ?? result.account.upstream_subject,
            reconnected: result.reconnected,
          }),
        );
    });

    app.get(
      '/connect/:provider',
      {
        config: { page: true },
        schema: {
          summary: 'Start connecting an account of a provider for an app (redirects to the provider)',
          tags: ['connect'],
          params: ConnectParams,
          querystring: ConnectQuery,
          response: { 303: redirect('To the provider\'s authorization endpoint'), ...pageErrors(400, 403, 404, 502, 503) },
        },
      },
      async (request, reply) => {
        const { provider } = request.params;
        const { app: appId, session, login_hint, account_id, subdomain } = request.query;
        const endUserId = session ? await endUserOfSession(services, appId, session, provider) : null;
        const { url } = await startConnect(services, {
          appId,
          provider,
          endUserId,
          accountId: account_id,
          loginHint: login_hint,
          templateValues: subdomain ? { subdomain } : undefined,
        });
        return reply.header('cache-control', 'no-store').redirect(url, 303);
      },
    );
  };
}
