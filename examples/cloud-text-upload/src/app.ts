import { readFileSync } from 'node:fs';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AuthorizationResponseError, codes, Gatehouse, type AccountHandle, GatehouseSdkError, generateNonce, generateState, ResponseBodyError } from '@gatehouse/node';
import { SERVER_FLOW_CALLBACK, type ExampleConfig } from './config.ts';
import { DriveError, listFiles, saveText, validFileName } from './drive.ts';
import { contentSecurityPolicy } from './html.ts';
import { errorPage, popupPage, savedPage, serverFlowPage } from './pages.ts';
import { sameToken, Sessions, type Session } from './session.ts';

const asset = (name: string) => readFileSync(new URL(`../public/${name}`, import.meta.url));

interface UploadForm {
  access_token?: string;
  account_id?: string;
  fileName?: string;
  file_body?: string;
  csrf?: string;
}

/** A failure shown to the person as a page with a status (never a token or a stack). */
class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/** What the SDK's and the drive's errors mean for the person in front of the page. */
function toPageError(err: unknown): PageError | undefined {
  if (err instanceof PageError) return err;
  if (err instanceof DriveError) return new PageError(err.status >= 500 ? 502 : err.status, 'The drive answered with an error', err.description);
  if (err instanceof AuthorizationResponseError) {
    return new PageError(400, err.error === 'access_denied' ? 'You did not allow the connection' : 'The connection failed', err.error_description ?? err.error);
  }
  if (err instanceof ResponseBodyError) {
    if (err.error === 'invalid_token' || err.error === 'invalid_grant') return new PageError(401, 'Your connection has ended', 'The access token is expired or revoked: connect again.');
    if (err.error === 'needs_reauth') return new PageError(409, 'Reconnect your drive', 'The drive no longer accepts this connection: connect it again.');
    return new PageError(err.status >= 500 ? 502 : err.status, 'Gatehouse refused the request', err.error_description ?? err.error);
  }
  if (err instanceof GatehouseSdkError) {
    if (err.code === codes.CLIENT_MISMATCH) return new PageError(403, 'This token is not ours', 'The access token was issued to another app, so this app will not use it.');
    if (err.code === codes.ACCOUNT_MISMATCH) return new PageError(403, 'This token is for another account', 'The access token does not reach the account named in the form.');
    return new PageError(400, 'The sign-in response was not valid', err.message);
  }
  return undefined;
}

/**
 * The cloud-text-upload example: the seed's page (authenticator popup → hidden fields → POST /post)
 * and a server-flow variant under /server, both writing through Gatehouse's proxy.
 */
export async function buildExample(config: ExampleConfig): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });
  await app.register(formbody);
  const csp = contentSecurityPolicy(config.gatehouseUrl);
  const sessions = new Sessions(config.publicUrl.startsWith('https:'));
  // The popup variant runs as the public app: the browser holds the token, the backend verifies it.
  let popupSdk: Gatehouse | undefined;
  const popupClient = (): Gatehouse => (popupSdk ??= new Gatehouse({ baseUrl: config.gatehouseUrl, clientId: config.popup.clientId }));
  // The server flow runs as the confidential app. Both clients are built on first use, so a test may fill the config in after listening.
  let serverSdk: Gatehouse | undefined;
  const requireServerFlow = (): Gatehouse => {
    if (!config.serverFlow) throw new PageError(404, 'The server flow is off', 'Start the example with a confidential app (EXAMPLE_SERVER_CLIENT_ID and EXAMPLE_SERVER_CLIENT_SECRET).');
    serverSdk ??= new Gatehouse({
      baseUrl: config.gatehouseUrl,
      clientId: config.serverFlow.clientId,
      clientSecret: config.serverFlow.clientSecret,
      redirectUri: `${config.publicUrl}${SERVER_FLOW_CALLBACK}`,
    });
    return serverSdk;
  };
  const assets = { js: asset('upload.js'), css: asset('style.css') };

  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) reply.header('content-security-policy', csp).header('cache-control', 'no-store');
  });
  app.setErrorHandler((err, request, reply) => {
    const page = toPageError(err);
    const back = request.url.startsWith('/server') ? '/server' : '/';
    if (page) return reply.code(page.status).type('text/html; charset=utf-8').send(errorPage(page.title, page.description, back));
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).type('text/html; charset=utf-8').send(errorPage('Bad request', 'The request was not understood.', back));
    request.log.error({ err }, 'example failed');
    return reply.code(500).type('text/html; charset=utf-8').send(errorPage('Something went wrong', 'Try again in a moment.', back));
  });

  const page = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(body);
  const uploadFields = (form: UploadForm) => {
    const name = (form.fileName ?? '').trim();
    if (!validFileName(name)) throw new PageError(400, 'Choose another file name', 'File names are 1–200 letters, digits, spaces and . _ ( ) -, and do not start with a dot.');
    return { name, text: form.file_body ?? '' };
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/favicon.ico', (_request, reply) => reply.code(204).send());
  app.get('/static/upload.js', (_request, reply) => reply.type('text/javascript; charset=utf-8').send(assets.js));
  app.get('/static/style.css', (_request, reply) => reply.type('text/css; charset=utf-8').send(assets.css));

  // ---- the seed's page: authenticator popup, hidden fields, upload ----
  app.get('/', (_request, reply) => page(reply, popupPage({ gatehouseUrl: config.gatehouseUrl, clientId: config.popup.clientId, scope: config.scope })));

  app.post<{ Body: UploadForm }>('/post', async (request, reply) => {
    const { access_token: token, account_id: accountId } = request.body ?? {};
    if (!token || !accountId) throw new PageError(400, 'Connect a drive first', 'The form carries no account: press "Connect your drive" and try again.');
    const { name, text } = uploadFields(request.body);
    // The seed's confused-deputy check: the token must be ours, and for the account the form names.
    await popupClient().verifyToken(token, { accountId });
    const account = popupClient().account(accountId, { accessToken: token });
    await saveText(account, name, text);
    const files = await listFiles(account);
    return page(reply, savedPage({ name, account: { id: accountId }, files, back: '/' }));
  });

  // ---- the server-flow variant ----
  const sessionOf = (request: FastifyRequest): Session | undefined => sessions.find(request.headers.cookie);
  const checkCsrf = (session: Session | undefined, form: UploadForm | undefined): Session => {
    if (!session || !sameToken(form?.csrf, session.csrf)) throw new PageError(403, 'Your session has ended', 'Reload the page and try again.');
    return session;
  };

  /**
   * Runs a drive call as the session's account. When Gatehouse refuses the access token (expired
   * or revoked), refreshes once (the refresh token rotates) and retries; when that cannot work,
   * forgets the credentials, so /server offers Connect again.
   */
  async function asAccount<T>(session: Session, call: (account: AccountHandle) => Promise<T>): Promise<T> {
    const sdk = requireServerFlow();
    const credentials = session.credentials!;
    const id = credentials.account!.id;
    try {
      return await call(sdk.account(id, { accessToken: credentials.access_token }));
    } catch (err) {
      if (!(err instanceof ResponseBodyError) || err.status !== 401) throw err;
      session.credentials = undefined;
      if (!credentials.refresh_token) throw err;
      session.credentials = { ...credentials, ...(await sdk.refresh(credentials.refresh_token)) };
      return call(sdk.account(id, { accessToken: session.credentials.access_token }));
    }
  }

  app.get('/server', async (request, reply) => {
    requireServerFlow();
    let session = sessionOf(request);
    if (!session) {
      session = sessions.create();
      reply.header('set-cookie', sessions.cookie(session));
    }
    const credentials = session.credentials;
    const files = credentials ? await asAccount(session, listFiles) : undefined;
    const notice = (request.query as { saved?: string }).saved;
    return page(reply, serverFlowPage({ account: credentials?.account, csrf: session.csrf, files, notice: notice ? `Saved ${notice}.` : undefined }));
  });

  app.get('/server/connect', async (request, reply) => {
    const sdk = requireServerFlow();
    const session = sessionOf(request) ?? sessions.create();
    session.pending = { state: generateState(), nonce: generateNonce() };
    return reply.header('set-cookie', sessions.cookie(session)).redirect(sdk.getAuthorizeUrl(session.pending.state, session.pending.nonce, { scope: config.scope }), 303);
  });

  app.get(SERVER_FLOW_CALLBACK, async (request, reply) => {
    const sdk = requireServerFlow();
    const session = sessionOf(request);
    const pending = session?.pending ?? (() => { throw new PageError(400, 'This sign-in was not started here', 'Press "Connect your drive" again.'); })();
    session!.pending = undefined;
    const credentials = await sdk.exchangeCredentials(pending.state, pending.nonce, request.query as Record<string, string>);
    await sdk.verifyToken(credentials.access_token, { accountId: credentials.account?.id });
    session!.credentials = credentials;
    return reply.redirect('/server', 303);
  });

  app.post<{ Body: UploadForm }>('/server/upload', async (request, reply) => {
    const sdk = requireServerFlow();
    const session = checkCsrf(sessionOf(request), request.body);
    if (!session.credentials) throw new PageError(401, 'Connect a drive first', 'This session has no connected drive.');
    const { name, text } = uploadFields(request.body);
    const entry = await asAccount(session, (account) => saveText(account, name, text));
    return reply.redirect(`/server?saved=${encodeURIComponent(entry.name)}`, 303);
  });

  app.post<{ Body: UploadForm }>('/server/disconnect', async (request, reply) => {
    const sdk = requireServerFlow();
    const session = checkCsrf(sessionOf(request), request.body);
    const token = session.credentials?.refresh_token ?? session.credentials?.access_token;
    if (token) await sdk.revoke(token);
    sessions.destroy(session);
    return reply.header('set-cookie', sessions.clearCookie()).redirect('/server', 303);
  });

  return app;
}
