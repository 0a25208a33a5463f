// Starts one seeded Gatehouse (SQLite, or PostgreSQL with STORE=postgres) as the bench runs it,
// with the local upstream and a connected account for the proxy case, and keeps it up until
// Ctrl-C, for poking at by hand (perf, wrk): node --import tsx bench/tools/serve-seeded.ts
import { APP_SCOPES } from '../lib/cases-as.ts';
import { toolSpecs } from '../lib/cases-proxy.ts';
import { dropEnv, freshEnv, seedApp, startGatehouse } from '../lib/gatehouse.ts';
import { benchProvidersDir, seedProxyAccount, startUpstream } from '../lib/upstream.ts';

const upstream = await startUpstream();
const env = await freshEnv(process.env.STORE === 'postgres' ? 'postgres' : 'sqlite', benchProvidersDir(upstream.url));
const creds = await seedApp(env, APP_SCOPES);
const accountId = await seedProxyAccount(env, creds, { upstreamToken: 'up_at_live', expiresAt: Date.now() + 3600_000 });
const gatehouse = await startGatehouse('gatehouse-seeded', env, { nodeArgs: process.env.NODE_ARGS?.split(' ').filter(Boolean) ?? [] });
const specs = toolSpecs({ connections: 50, seconds: 5 }, { service: gatehouse, creds }, accountId);
console.log(JSON.stringify({ pid: gatehouse.pid, upstreamPid: upstream.pid, specs }, null, 1));
const stop = async () => {
  await gatehouse.stop();
  await upstream.stop();
  await dropEnv(env);
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
