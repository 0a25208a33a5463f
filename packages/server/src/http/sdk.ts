import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { bundleAuthenticator } from '@gatehouse/authenticator/build';
import { acceptRelay, appTrusting, RELAY_PATH, takeRelayResult } from '../authorization/index.ts';
import { POPUP_SCRIPT, POPUP_SCRIPT_PATH, relayPage } from '../pages/index.ts';
import type { Services } from '../services.ts';
import { ErrorSchema, htmlPage, pageErrors } from './schemas.ts';
import { pageCsp } from './security.ts';

export const AUTHENTICATOR_PATH = '/sdk/authenticator.js';
const Param = Type.Optional(Type.String({ maxLength: 2048 }));
const RelayQuery = Type.Object({
  client_id: Param,
  origin: Param,
  rid: Param,
  code: Param,
  state: Param,
  iss: Param,
  error: Param,
  error_description: Param,
});
const MailboxForm = Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 200 }), rid: Type.String({ minLength: 1, maxLength: 200 }) });
const script = (description: string) => ({ description, content: { 'text/javascript': { schema: Type.String() } } });
const MailboxAnswer = Type.Object({
  status: Type.Union([Type.Literal('pending'), Type.Literal('done')]),
  result: Type.Optional(Type.Record(Type.String(), Type.String())),
});

let bundle: Promise<string> | undefined;
/** The IIFE bundle, built once per process on first request (no build step before `npm start`). */
function authenticatorScript(): Promise<string> {
  bundle ??= bundleAuthenticator('iife').catch((err: unknown) => {
    bundle = undefined;
    throw err;
  });
  return bundle;
}

function sendScript(reply: FastifyReply, body: string, crossOrigin: boolean) {
  // Apps load the authenticator from their own pages: it must not be same-origin only.
  if (crossOrigin) reply.header('cross-origin-resource-policy', 'cross-origin').header('access-control-allow-origin', '*');
  return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(body);
}

/** The browser SDK: the authenticator script, its relay page and mailbox, and the popup pages' script. */
export function sdkRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      AUTHENTICATOR_PATH,
      { schema: { summary: 'The browser authenticator (window.Gatehouse), for any page to load', tags: ['sdk'], response: { 200: script('JavaScript (IIFE)') } } },
      async (_request, reply) => sendScript(reply, await authenticatorScript(), true),
    );
    app.get(
      POPUP_SCRIPT_PATH,
      { schema: { summary: "The script of Gatehouse's pages in the authenticator's popup (heartbeats, relay)", tags: ['sdk'], response: { 200: script('JavaScript') } } },
      async (_request, reply) => sendScript(reply, POPUP_SCRIPT, false),
    );

    const relaySchema = {
      summary: "The authenticator's relay page: the redirect URI of popup flows; posts the response to the opener at the app's trusted origin",
      tags: ['sdk'],
      querystring: RelayQuery,
      response: { 200: htmlPage('The relay page (its script reads the response from the URL)'), ...pageErrors(400) },
    };
    app.get(RELAY_PATH, { config: { page: true }, schema: relaySchema }, async (request, reply) => {
      const { target } = await acceptRelay(services, request.query);
      return reply
        .code(200)
        .header('cache-control', 'no-store')
        .header('content-security-policy', pageCsp([], true))
        .type('text/html; charset=utf-8')
        .send(relayPage({ origin: target.origin, rid: target.rid }));
    });

    // Simple CORS requests (form body, no credentials) from the app's trusted origins only.
    app.post(
      `${RELAY_PATH}/result`,
      {
        schema: {
          summary: "The relay's read-once mailbox, for popups a provider's COOP cut off from their opener (CORS: the app's trusted origins)",
          tags: ['sdk'],
          consumes: ['application/x-www-form-urlencoded'],
          body: MailboxForm,
          response: { 200: MailboxAnswer, 400: ErrorSchema, 403: ErrorSchema },
        },
      },
      async (request, reply) => {
        const origin = request.headers.origin;
        const client = await appTrusting(services, request.body.client_id, origin);
        if (!client) return reply.code(403).send({ error: 'access_denied', error_description: 'this origin is not a trusted origin of the app' });
        reply.header('access-control-allow-origin', origin!).header('vary', 'Origin').header('cache-control', 'no-store');
        const result = await takeRelayResult(services, client.id, request.body.rid, origin!);
        return result ? { status: 'done' as const, result: result as Record<string, string> } : { status: 'pending' as const };
      },
    );
  };
}
