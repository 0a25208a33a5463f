// Baseline for "introspection" and "client credentials": node-oidc-provider v8 with its default
// memory adapter (nothing durable), one confidential client (client_secret_basic), opaque access
// tokens, introspection and client_credentials enabled.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 0);
const clientId = process.env.OIDC_CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'bench-secret';
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api',
    },
  ],
  scopes: ['api'],
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    clientCredentials: { enabled: true },
  },
  cookies: { keys: ['bench-cookie-key-0123456789'] },
});
const server = createServer(provider.callback());
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
