import { startSandbox, type SandboxClient } from './index.ts';

/**
 * Runs the sandbox alone. SANDBOX_PORT (4001), SANDBOX_HOST (127.0.0.1), SANDBOX_URL
 * (http://localhost:<port>), SANDBOX_ACCESS_TOKEN_TTL (seconds), and one client from
 * SANDBOX_CLIENT_ID / SANDBOX_CLIENT_SECRET / SANDBOX_REDIRECT_URI (comma separated).
 */
export async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const port = Number(env.SANDBOX_PORT ?? 4001);
  const clients: SandboxClient[] =
    env.SANDBOX_CLIENT_ID && env.SANDBOX_CLIENT_SECRET && env.SANDBOX_REDIRECT_URI
      ? [{ client_id: env.SANDBOX_CLIENT_ID, client_secret: env.SANDBOX_CLIENT_SECRET, redirect_uris: env.SANDBOX_REDIRECT_URI.split(',') }]
      : [];
  const sandbox = await startSandbox({
    port,
    host: env.SANDBOX_HOST ?? '127.0.0.1',
    url: env.SANDBOX_URL ?? `http://localhost:${port}`,
    accessTokenTtlSeconds: env.SANDBOX_ACCESS_TOKEN_TTL ? Number(env.SANDBOX_ACCESS_TOKEN_TTL) : undefined,
    clients,
  });
  process.stdout.write(`Sandbox Drive is listening on ${sandbox.url} (demo users: ${sandbox.users.map((u) => `${u.login}/${u.password}`).join(', ')})\n`);
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
