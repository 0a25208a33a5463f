import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { type ClientMetadata, type Configuration } from 'oidc-provider';
import { memoryStorage } from './adapter.ts';
import { Drives, handleDrive } from './drive.ts';
import { escapeHtml, page } from './html.ts';
import { handleInteraction, sendHtml } from './interactions.ts';
import { DEMO_USERS, type DemoUser } from './users.ts';

export { DEMO_USERS, type DemoUser } from './users.ts';
export { Drives, type DriveFile } from './drive.ts';

/** A client of the sandbox (Gatehouse's integration): confidential, authorization code + refresh. */
export interface SandboxClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  client_name?: string;
}

export interface SandboxOptions {
  /** Default 4001; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The public URL, also the OIDC issuer (no trailing slash). Default http://<host>:<port>. */
  url?: string;
  /** Access token lifetime; default 3600 s (tests use 1-2 s to see expiry). */
  accessTokenTtlSeconds?: number;
  refreshTokenTtlSeconds?: number;
  clients?: SandboxClient[];
  users?: readonly DemoUser[];
  /** Sets this Cross-Origin-Opener-Policy on the login and consent pages, like some real providers. */
  crossOriginOpenerPolicy?: string;
}

export interface RunningSandbox {
  url: string;
  provider: Provider;
  drives: Drives;
  users: readonly DemoUser[];
  /** Headers added to the login and consent pages; tests change them while it runs (e.g. COOP). */
  pageHeaders: Record<string, string>;
  /** Registers (or replaces) a client after start. */
  addClient(client: SandboxClient): Promise<void>;
  /** Changes the lifetime of the access tokens issued from now on. */
  setAccessTokenTtl(seconds: number): void;
  /** Every access and refresh token issued so far (for log scans in tests). */
  issuedTokens(): string[];
  close(): Promise<void>;
}

const clientMetadata = (c: SandboxClient): ClientMetadata & { client_id: string } => ({
  client_id: c.client_id,
  client_secret: c.client_secret,
  client_name: c.client_name ?? 'Gatehouse',
  redirect_uris: c.redirect_uris,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

function indexPage(url: string): string {
  return page(
    'Sandbox Drive',
    `<h1>Sandbox Drive</h1><p>An offline OAuth 2.0 / OpenID Connect provider with a small drive API, for trying Gatehouse.</p>
<p>Issuer: <code>${escapeHtml(url)}</code> (<a href="/.well-known/openid-configuration">discovery</a>).
Drive API: <code>GET /drive/files</code>, <code>PUT /drive/files/:name</code>, <code>GET /drive/files/:name</code>, with a bearer token.</p>`,
  );
}

/**
 * Starts the sandbox: node-oidc-provider (login and consent pages of its own, refresh tokens that
 * rotate, RFC 7009 revocation) plus the drive API, on one HTTP server.
 * @see https://openid.net/specs/openid-connect-core-1_0.html
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4001, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = (options.url ?? `http://${host}:${port}`).replace(/\/+$/, '');
  const users = options.users ?? DEMO_USERS;
  const storage = memoryStorage();
  const ttl = { accessToken: options.accessTokenTtlSeconds ?? 3600 };
  const issued: string[] = [];
  // A signing key of this run (ID tokens); like every other state of the sandbox, gone when it stops.
  const signingKey = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
  const configuration: Configuration = {
    adapter: storage.Adapter,
    jwks: { keys: [signingKey as never] },
    clients: (options.clients ?? []).map(clientMetadata),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'drive'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The ID token carries email and name too, so a client needs no userinfo call to label the account.
    conformIdTokenClaims: false,
    async findAccount(_ctx, sub) {
      const user = users.find((u) => u.id === sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, email: user.email, email_verified: true, name: user.name }) };
    },
    // Every client here may refresh; each use of a refresh token returns a new one (rotation).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => false, methods: ['S256'] },
    ttl: {
      AccessToken: () => ttl.accessToken,
      RefreshToken: options.refreshTokenTtlSeconds ?? 14 * 24 * 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Grant: 14 * 24 * 3600,
      Interaction: 600,
      Session: 24 * 3600,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>Sandbox Drive could not go on</h1><p>${escapeHtml(String(out.error_description ?? out.error))}</p>`);
    },
  };
  const provider = new Provider(url, configuration);
  provider.on('access_token.saved', (token: { jti: string }) => issued.push(token.jti));
  provider.on('refresh_token.saved', (token: { jti: string }) => issued.push(token.jti));
  const oidc = provider.callback();
  const drives = new Drives();
  const pageHeaders: Record<string, string> = options.crossOriginOpenerPolicy ? { 'cross-origin-opener-policy': options.crossOriginOpenerPolicy } : {};

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    const route = path.startsWith('/interaction/')
      ? handleInteraction(provider, { users, pageHeaders }, req, res, path)
      : path.startsWith('/drive/')
        ? handleDrive(provider, drives, req, res, path)
        : path === '/'
          ? Promise.resolve(sendHtml(res, 200, indexPage(url)))
          : Promise.resolve(oidc(req, res));
    route.catch((err: unknown) => {
      const status = (err as { status?: number }).status ?? 500;
      if (!res.headersSent) sendHtml(res, status, page('Error', `<h1>${status === 500 ? 'Something went wrong' : escapeHtml((err as Error).message)}</h1>`));
      else res.end();
    });
  });

  return {
    url,
    provider,
    drives,
    users,
    pageHeaders,
    addClient: (client) => storage.upsertClient(clientMetadata(client)),
    setAccessTokenTtl: (seconds) => {
      ttl.accessToken = seconds;
    },
    issuedTokens: () => [...issued],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
