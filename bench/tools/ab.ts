// A/B of two Gatehouse builds (CLI entry scripts) under one case, in alternating rounds, with the
// case's baseline alongside: prints each side's best requests per second and lowest CPU µs/request.
// Usage: node --import tsx bench/tools/ab.ts verify|proxy <bin A> <bin B> [rounds] [seconds]
import { APP_SCOPES } from '../lib/cases-as.ts';
import { proxyPath, startForwarder } from '../lib/cases-proxy.ts';
import { dropEnv, freshEnv, gatehouseEnv, GATEHOUSE_NODE_ARGS, seedApp } from '../lib/gatehouse.ts';
import { alternate, type LoadSpec } from '../lib/load.ts';
import { startNode, type Service } from '../lib/processes.ts';
import { benchProvidersDir, seedProxyAccount, startUpstream, UPSTREAM_PATH } from '../lib/upstream.ts';

const [which = 'proxy', binA, binB, rounds = '4', seconds = '3'] = process.argv.slice(2);
if (!binA || !binB) throw new Error('usage: ab.ts verify|proxy <bin A> <bin B> [rounds] [seconds]');
const upstream = which === 'proxy' ? await startUpstream() : undefined;
const env = await freshEnv('sqlite', upstream ? benchProvidersDir(upstream.url) : undefined);
const creds = await seedApp(env, APP_SCOPES);
const accountId = upstream ? await seedProxyAccount(env, creds, { upstreamToken: 'up_at_live', expiresAt: Date.now() + 3600_000 }) : '';
const start = (name: string, bin: string) =>
  startNode(name, bin, { env: gatehouseEnv(env), nodeArgs: GATEHOUSE_NODE_ARGS, scriptArgs: ['serve'], probePath: '/healthz' });
const services: Service[] = [];
try {
  const a = await start('A', binA);
  services.push(a);
  const b = await start('B', binB);
  services.push(b);
  const common = { connections: 50, seconds: Number(seconds) };
  const target = (g: Service): LoadSpec =>
    which === 'proxy'
      ? { ...common, url: `${g.url}${proxyPath(accountId)}`, authorization: `Bearer ${creds.apiKey}`, pid: g.pid }
      : { ...common, url: `${g.url}/v1/oauth/token`, authorization: `Bearer ${creds.accessToken}`, pid: g.pid };
  let baseline: LoadSpec;
  if (upstream) {
    const forwarder = await startForwarder(upstream);
    services.push(forwarder);
    baseline = { ...common, url: `${forwarder.url}/fwd/${UPSTREAM_PATH}`, pid: forwarder.pid };
  } else {
    const fastify = await startNode('fastify', new URL('../baselines/fastify-json.ts', import.meta.url).pathname, {});
    services.push(fastify);
    baseline = { ...common, url: `${fastify.url}/`, pid: fastify.pid };
  }
  const best = await alternate({ A: target(a), B: target(b), baseline }, { rounds: Number(rounds), warmup: 2, log: console.log });
  for (const [name, r] of Object.entries(best)) {
    console.log(`${name}: ${Math.round(r.rps)} rps (${(r.rps / best.baseline.rps).toFixed(2)}x), ${r.cpuUsPerRequest?.toFixed(1)} µs CPU/request (${((best.baseline.cpuUsPerRequest ?? 0) / (r.cpuUsPerRequest ?? 1)).toFixed(2)}x), peak RSS ${(((services.find((s) => s.name === name)?.peakRss()) ?? 0) / 1048576).toFixed(0)} MB`);
  }
} finally {
  for (const s of services) await s.stop();
  await upstream?.stop();
  await dropEnv(env);
}
