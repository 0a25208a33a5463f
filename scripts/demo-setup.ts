import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, deleteApp } from '../packages/server/src/authorization/index.ts';
import { setIntegration } from '../packages/server/src/connect/index.ts';
import type { Services } from '../packages/server/src/services.ts';
import { findApp, findAppById } from '../packages/server/src/store/index.ts';
import { DEMO_USERS } from '../sandbox/src/index.ts';

/** `<data>/demo.json`: what the example app reads (camelCase, the example's contract). Development only, mode 0600. */
export interface DemoFile {
  gatehouseUrl: string;
  sandboxUrl: string;
  exampleUrl: string;
  scope: string;
  /** The public app the authenticator popup runs as (PKCE, trusted origin = the example). */
  popup: { clientId: string; apiKey: string; redirectUri: string; trustedOrigin: string };
  /** The confidential app of the server-flow variant. */
  serverFlow: { clientId: string; clientSecret: string; apiKey: string; redirectUri: string };
  demoUsers: { login: string; password: string }[];
}

/** Gatehouse's client at the sandbox: made once per data folder, so the sandbox and Gatehouse agree across restarts. */
export interface SandboxClientFile {
  clientId: string;
  clientSecret: string;
}

export const POPUP_APP = 'Cloud Text Upload';
export const SERVER_APP = 'Cloud Text Upload (server flow)';
export const DEMO_SCOPE = 'storage proxy';
const APP_SCOPES = ['storage', 'sandbox', 'proxy', 'accounts:read', 'offline_access'];

function writePrivate(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Reads `<data>/sandbox-client.json`, or makes it (a random secret, mode 0600). */
export function sandboxClient(dataDir: string): SandboxClientFile {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'sandbox-client.json');
  const found = readJson<SandboxClientFile>(path);
  if (found?.clientId && found.clientSecret) return found;
  const created = { clientId: 'gatehouse-demo', clientSecret: randomBytes(32).toString('base64url') };
  writePrivate(path, created);
  return created;
}

/** Whether the demo file still describes apps that exist, with the URLs of this run. */
async function stillValid(services: Services, demo: DemoFile | undefined, urls: { gatehouseUrl: string; sandboxUrl: string; exampleUrl: string }): Promise<boolean> {
  if (!demo?.popup?.clientId || !demo.serverFlow?.clientId || !demo.serverFlow.clientSecret) return false;
  if (demo.gatehouseUrl !== urls.gatehouseUrl || demo.sandboxUrl !== urls.sandboxUrl || demo.exampleUrl !== urls.exampleUrl) return false;
  return Boolean((await findAppById(services.db, demo.popup.clientId)) && (await findAppById(services.db, demo.serverFlow.clientId)));
}

/**
 * Registers the demo's two apps and their sandbox-drive integration if missing, and writes
 * `<data>/demo.json`. Idempotent: a later run reuses the apps the file names (their secrets exist
 * only there: Gatehouse keeps hashes). If the file is gone or stale, the demo apps are made anew.
 */
export async function setUpDemo(
  services: Services,
  input: { dataDir: string; gatehouseUrl: string; sandboxUrl: string; exampleUrl: string; sandbox: SandboxClientFile },
): Promise<{ demo: DemoFile; created: boolean }> {
  const path = join(input.dataDir, 'demo.json');
  const urls = { gatehouseUrl: input.gatehouseUrl, sandboxUrl: input.sandboxUrl, exampleUrl: input.exampleUrl };
  let demo = readJson<DemoFile>(path);
  let created = false;
  if (!(await stillValid(services, demo, urls))) {
    for (const name of [POPUP_APP, SERVER_APP]) if (await findApp(services.db, name)) await deleteApp(services, name);
    const popupRedirect = `${input.exampleUrl}/callback`;
    const serverRedirect = `${input.exampleUrl}/server/callback`;
    const popup = await createApp(services, {
      name: POPUP_APP,
      redirectUris: [popupRedirect],
      scopes: APP_SCOPES,
      defaultScopes: DEMO_SCOPE.split(' '),
      trustedOrigins: [input.exampleUrl],
      public: true,
    });
    const server = await createApp(services, { name: SERVER_APP, redirectUris: [serverRedirect], scopes: APP_SCOPES, defaultScopes: DEMO_SCOPE.split(' ') });
    demo = {
      ...urls,
      scope: DEMO_SCOPE,
      popup: { clientId: popup.app.id, apiKey: popup.apiKey, redirectUri: popupRedirect, trustedOrigin: input.exampleUrl },
      serverFlow: { clientId: server.app.id, clientSecret: server.clientSecret!, apiKey: server.apiKey, redirectUri: serverRedirect },
      demoUsers: DEMO_USERS.map((u) => ({ login: u.login, password: u.password })),
    };
    writePrivate(path, demo);
    created = true;
  }
  for (const app of [demo!.popup.clientId, demo!.serverFlow.clientId]) {
    await setIntegration(services, { app, provider: 'sandbox-drive', clientId: input.sandbox.clientId, clientSecret: input.sandbox.clientSecret });
  }
  return { demo: demo!, created };
}
