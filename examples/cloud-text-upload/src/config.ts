import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** What the example needs to know: where it is, where Gatehouse is, and its two apps there. */
export interface ExampleConfig {
  /** This app's public origin, e.g. http://localhost:4002 (the server flow's redirect URI hangs off it). */
  publicUrl: string;
  /** Gatehouse's base URL (its issuer), e.g. http://localhost:4000. */
  gatehouseUrl: string;
  /** The scope both variants ask for: the drive category plus the right to call it through the proxy. */
  scope: string;
  /** The public app the authenticator popup runs as (PKCE, no secret). */
  popup: { clientId: string };
  /** The confidential app of the server-flow variant; the variant is off without it. */
  serverFlow?: { clientId: string; clientSecret: string };
}

export const SERVER_FLOW_CALLBACK = '/server/callback';
export const DEFAULT_SCOPE = 'storage proxy';

/** The file `npm start`'s setup writes (`<data>/demo.json`); the fields this example reads. */
interface DemoFile {
  gatehouseUrl?: string;
  exampleUrl?: string;
  scope?: string;
  popup?: { clientId?: string };
  serverFlow?: { clientId?: string; clientSecret?: string };
}

function readDemoFile(path: string): DemoFile {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DemoFile;
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}); run npm start's setup again`);
  }
}

/**
 * Environment first, then `<GATEHOUSE_DATA_DIR or ./data>/demo.json`:
 * EXAMPLE_URL, GATEHOUSE_URL, EXAMPLE_SCOPE, EXAMPLE_CLIENT_ID (public app),
 * EXAMPLE_SERVER_CLIENT_ID + EXAMPLE_SERVER_CLIENT_SECRET (confidential app).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ExampleConfig {
  const demoPath = join(resolve(cwd, env.GATEHOUSE_DATA_DIR ?? 'data'), 'demo.json');
  const demo = readDemoFile(demoPath);
  const clientId = env.EXAMPLE_CLIENT_ID ?? demo.popup?.clientId;
  if (!clientId) throw new Error(`no Gatehouse app for the example: set EXAMPLE_CLIENT_ID or run npm start (it writes ${demoPath})`);
  const serverId = env.EXAMPLE_SERVER_CLIENT_ID ?? demo.serverFlow?.clientId;
  const serverSecret = env.EXAMPLE_SERVER_CLIENT_SECRET ?? demo.serverFlow?.clientSecret;
  return {
    publicUrl: (env.EXAMPLE_URL ?? demo.exampleUrl ?? 'http://localhost:4002').replace(/\/+$/, ''),
    gatehouseUrl: (env.GATEHOUSE_URL ?? demo.gatehouseUrl ?? 'http://localhost:4000').replace(/\/+$/, ''),
    scope: env.EXAMPLE_SCOPE ?? demo.scope ?? DEFAULT_SCOPE,
    popup: { clientId },
    serverFlow: serverId && serverSecret ? { clientId: serverId, clientSecret: serverSecret } : undefined,
  };
}
