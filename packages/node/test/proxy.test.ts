import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../../sandbox/src/index.ts';
import { createApp, type CreatedApp } from '../../server/src/authorization/index.ts';
import { TestBrowser } from '../../server/test/support/browser.ts';
import { integrate } from '../../server/test/support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from '../../server/test/support/gatehouse.ts';
import { signInThroughSandbox } from '../../server/test/support/sandbox.ts';
import { recordSecret } from '../../server/test/support/secrets.ts';
import { STORE_KINDS } from '../../server/test/support/stores.ts';
import { codes, Gatehouse, generateNonce, generateState, ResponseBodyError } from '../src/index.ts';
import { rejection } from './support.ts';

const REDIRECT = 'http://127.0.0.1:9/auth/callback';

// account(id).fetch through Gatehouse's proxy to the sandbox provider's drive API.
describe.each(STORE_KINDS)('@gatehouse/node proxy fetch on %s', (kind) => {
  let sandbox: RunningSandbox;
  let gatehouse: RunningGatehouse;
  let app: CreatedApp;
  let sdk: Gatehouse;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    gatehouse = await startGatehouse({ kind, env: { GATEHOUSE_SANDBOX_URL: sandbox.url } });
    const upstream = { clientId: 'gatehouse-sdk-test', clientSecret: `sandbox-secret-${randomBytes(12).toString('hex')}` };
    await sandbox.addClient({ client_id: upstream.clientId, client_secret: upstream.clientSecret, redirect_uris: [`${gatehouse.url}/connect/callback`] });
    app = await createApp(gatehouse.services, { name: 'Drive App', redirectUris: [REDIRECT], scopes: ['storage', 'proxy', 'accounts:read'] });
    recordSecret(upstream.clientSecret, app.clientSecret, app.apiKey);
    await integrate(gatehouse.services, app.app.id, 'sandbox-drive', upstream);
    sdk = new Gatehouse({ baseUrl: gatehouse.url, clientId: app.app.id, clientSecret: app.clientSecret!, redirectUri: REDIRECT, apiKey: app.apiKey });
  });
  afterAll(async () => {
    recordSecret(...(sandbox?.issuedTokens() ?? []));
    await gatehouse?.close();
    await sandbox?.close();
  });

  async function connect(login: string, password: string, scope: string) {
    const state = generateState();
    const nonce = generateNonce();
    recordSecret(state, nonce);
    const back = await signInThroughSandbox(new TestBrowser(), { sandbox: sandbox.url, gatehouse: gatehouse.url }, sdk.getAuthorizeUrl(state, nonce, { scope }), { login, password }, (u) =>
      u.href.startsWith(REDIRECT),
    );
    const credentials = await sdk.exchangeCredentials(state, nonce, back);
    recordSecret(credentials.access_token);
    return credentials;
  }

  it('writes, reads and lists files as the account, with its access token or the API key', async () => {
    const alice = await connect('alice', 'alice-demo', 'storage proxy');
    const drive = sdk.account(alice.account!.id, { accessToken: alice.access_token });
    const put = await drive.fetch('/files/hello.txt', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hi there' });
    expect(put.status).toBe(201);
    expect(sandbox.drives.files('u-alice').get('hello.txt')?.content.toString()).toBe('hi there');
    expect(await (await drive.fetch('files/hello.txt')).text()).toBe('hi there');

    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed '));
        controller.enqueue(new TextEncoder().encode('body'));
        controller.close();
      },
    });
    expect((await drive.fetch('files/stream.txt', { method: 'PUT', body: streamed })).status).toBe(201);
    expect(sandbox.drives.files('u-alice').get('stream.txt')?.content.toString()).toBe('streamed body');

    const withKey = await sdk.account(alice.account!.id).fetch('files');
    expect(withKey.status).toBe(200);
    const listed = (await withKey.json()) as { files: { name: string }[] };
    expect(listed.files.map((f) => f.name)).toEqual(['hello.txt', 'stream.txt']);
  });

  it('Gatehouse\'s refusals (no proxy scope, another account, a dead token) throw; the provider\'s own answers come back', async () => {
    const bob = await connect('bob', 'bob-demo', 'storage proxy');
    const noProxy = await connect('alice', 'alice-demo', 'storage accounts:read');
    const refused = await rejection(sdk.account(noProxy.account!.id, { accessToken: noProxy.access_token }).fetch('files'));
    expect(refused).toBeInstanceOf(ResponseBodyError);
    expect(refused).toMatchObject({ code: codes.RESPONSE_BODY_ERROR, status: 403, error: 'insufficient_scope' });
    const alice = await connect('alice', 'alice-demo', 'storage proxy');
    const crossed = await rejection(sdk.account(bob.account!.id, { accessToken: alice.access_token }).fetch('files', { method: 'PUT', body: 'x' }));
    expect(crossed).toMatchObject({ status: 404, error: 'not_found' });
    expect(sandbox.drives.list('u-bob')).toEqual([]);
    const dead = await rejection(sdk.account(alice.account!.id, { accessToken: 'gha_not-a-token-0000' }).fetch('files'));
    expect(dead).toMatchObject({ status: 401, error: 'invalid_token' });

    // the provider's own refusals are answers, not errors: they come back as they are
    const missing = await sdk.account(alice.account!.id, { accessToken: alice.access_token }).fetch('files/no-such-file.txt');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('via')).toMatch(/gatehouse/);
    expect(await missing.json()).toMatchObject({ error: 'not_found', error_description: 'no such file' });
  });
});
