import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { startSandbox, type RunningSandbox } from '../../../sandbox/src/index.ts';
import { createApp, type CreatedApp } from '../../../packages/server/src/authorization/index.ts';
import type { TestBrowser } from '../../../packages/server/test/support/browser.ts';
import { signInThroughSandbox as signInAtSandbox, type SandboxLogin } from '../../../packages/server/test/support/sandbox.ts';
import { integrate } from '../../../packages/server/test/support/fixtures.ts';
import { startGatehouse, type RunningGatehouse } from '../../../packages/server/test/support/gatehouse.ts';
import { recordSecret } from '../../../packages/server/test/support/secrets.ts';
import type { StoreKind } from '../../../packages/server/test/support/stores.ts';
import { buildExample, SERVER_FLOW_CALLBACK, type ExampleConfig } from '../src/index.ts';

export const SCOPE = 'storage proxy';

/**
 * The demo's whole stack on loopback: the sandbox provider, a Gatehouse (fresh database) whose
 * catalog places sandbox-drive at the sandbox, the demo's two apps integrated with it, and the
 * example app itself.
 */
export class DemoStack {
  sandbox!: RunningSandbox;
  gatehouse!: RunningGatehouse;
  /** The public app the authenticator popup runs as. */
  popupApp!: CreatedApp;
  /** The confidential app of the server flow. */
  serverApp!: CreatedApp;
  example!: FastifyInstance;
  exampleUrl!: string;
  config!: ExampleConfig;

  start = async (kind: StoreKind): Promise<void> => {
    this.sandbox = await startSandbox({ port: 0 });
    this.gatehouse = await startGatehouse({ kind, env: { GATEHOUSE_SANDBOX_URL: this.sandbox.url } });
    const upstream = { clientId: 'gatehouse-demo', clientSecret: `sandbox-secret-${randomBytes(12).toString('hex')}` };
    await this.sandbox.addClient({ client_id: upstream.clientId, client_secret: upstream.clientSecret, redirect_uris: [`${this.gatehouse.url}/connect/callback`] });

    this.config = { publicUrl: '', gatehouseUrl: this.gatehouse.url, scope: SCOPE, popup: { clientId: '' } };
    this.example = await buildExample(this.config);
    const address = await this.example.listen({ port: 0, host: '127.0.0.1' });
    this.exampleUrl = address.replace('localhost', '127.0.0.1');
    this.config.publicUrl = this.exampleUrl;

    this.popupApp = await createApp(this.gatehouse.services, {
      name: 'Cloud Text Upload',
      redirectUris: [`${this.exampleUrl}/`],
      scopes: ['storage', 'proxy'],
      trustedOrigins: [this.exampleUrl],
      public: true,
    });
    this.serverApp = await createApp(this.gatehouse.services, {
      name: 'Cloud Text Upload (server)',
      redirectUris: [`${this.exampleUrl}${SERVER_FLOW_CALLBACK}`],
      scopes: ['storage', 'proxy', 'offline_access'],
    });
    recordSecret(upstream.clientSecret, this.popupApp.apiKey, this.serverApp.clientSecret, this.serverApp.apiKey);
    for (const app of [this.popupApp, this.serverApp]) await integrate(this.gatehouse.services, app.app.id, 'sandbox-drive', upstream);
    this.config.popup.clientId = this.popupApp.app.id;
    this.config.serverFlow = { clientId: this.serverApp.app.id, clientSecret: this.serverApp.clientSecret! };
  };

  close = async (): Promise<void> => {
    recordSecret(...(this.sandbox?.issuedTokens() ?? []));
    await this.example?.close();
    await this.gatehouse?.close();
    await this.sandbox?.close();
  };

  /** What the sandbox holds for a demo user (checked directly, not through the page). */
  fileText = (userId: string, name: string): string | undefined => this.sandbox.drives.files(userId).get(name)?.content.toString('utf8');
}

/** Signs in at the sandbox through the stack's Gatehouse (see the shared support). */
export const signInThroughSandbox = (
  stack: DemoStack,
  browser: TestBrowser,
  start: string,
  user: SandboxLogin,
  stopAt: (u: URL) => boolean,
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> => signInAtSandbox(browser, { sandbox: stack.sandbox.url, gatehouse: stack.gatehouse.url }, start, user, stopAt, decision);

export const ALICE = { id: 'u-alice', login: 'alice', password: 'alice-demo', email: 'alice@sandbox.test' };
export const BOB = { id: 'u-bob', login: 'bob', password: 'bob-demo', email: 'bob@sandbox.test' };
