// A/B of Gatehouse builds (CLI entry scripts, e.g. one in a git worktree of another commit) under
// one case, in alternating rounds, with a baseline alongside (the forwarder for the proxy, bare
// Fastify otherwise): prints each one's best and median requests per second and CPU µs/request.
// Usage: [STORE=postgres] ROUNDS=4 SECONDS=3 node --import tsx bench/tools/ab.ts verify|healthz|introspect|cc|proxy <bin A> <bin B> [<bin C> …]
// (a bin may be written <bin>::<node flags> to run it with other node flags)
import { APP_SCOPES } from '../lib/cases-as.ts';
import { startForwarder, toolCase, toolSpecs } from '../lib/cases-proxy.ts';
import { dropEnv, freshEnv, seedApp, startBuild } from '../lib/gatehouse.ts';
import { holdCoresPolling } from '../lib/idle.ts';
import { alternate, type LoadSpec } from '../lib/load.ts';
import { pairedRatio } from '../lib/table.ts';
import { startNode, type Service } from '../lib/processes.ts';
import { benchProvidersDir, seedProxyAccount, startUpstream, UPSTREAM_PATH } from '../lib/upstream.ts';

const USAGE = 'ab.ts verify|healthz|introspect|cc|proxy <bin A> <bin B> [<bin C> …]';
const [name = 'proxy', ...bins] = process.argv.slice(2);
// healthz: Gatehouse's cheapest route, what every answer costs
const which = name === 'healthz' ? name : toolCase(name, USAGE);
const rounds = process.env.ROUNDS ?? '4';
const seconds = process.env.SECONDS ?? '3';
if (bins.length < 2) throw new Error(`usage: ${USAGE}`);
const upstream = which === 'proxy' ? await startUpstream() : undefined;
const env = await freshEnv(process.env.STORE === 'postgres' ? 'postgres' : 'sqlite', upstream ? benchProvidersDir(upstream.url) : undefined);
const creds = await seedApp(env, APP_SCOPES);
const accountId = upstream ? await seedProxyAccount(env, creds, { upstreamToken: 'up_at_live', expiresAt: Date.now() + 3600_000 }) : '';
const services: Service[] = [];
const idle = holdCoresPolling();
console.log(idle.note);
try {
  const builds: [string, Service][] = [];
  for (const [i, bin] of bins.entries()) {
    const name = String.fromCharCode(65 + i);
    const service = await startBuild(name, bin, env);
    services.push(service);
    builds.push([name, service]);
  }
  const common = { connections: 50, seconds: Number(seconds) };
  const target = (g: Service): LoadSpec => {
    const cases = toolSpecs(common, { service: g, creds }, accountId);
    if (which === 'healthz') return { ...cases.verify, url: `${g.url}/healthz`, authorization: undefined };
    return cases[which];
  };
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
  const specs: Record<string, LoadSpec> = Object.fromEntries(builds.map(([name, service]) => [name, target(service)]));
  const measured = await alternate({ ...specs, baseline }, { rounds: Number(rounds), warmup: 2, reference: 'baseline', log: console.log });
  for (const [name, r] of Object.entries(measured)) {
    const rss = (services.find((s) => s.name === name)?.peakRss() ?? 0) / 1048576;
    console.log(
      `${name}: median ${Math.round(r.rps)} rps, best ${Math.round(Math.max(...r.samples))} rps, ` +
        `${pairedRatio(r.samples, measured.baseline!.samples).toFixed(2)}x the baseline round by round; ` +
        `CPU µs/request median ${r.cpuUsPerRequest?.toFixed(1)}, lowest ${Math.min(...r.cpuSamples).toFixed(1)}` +
        (rss ? `; peak RSS ${rss.toFixed(0)} MB` : ''),
    );
  }
} finally {
  idle.release();
  for (const s of services) await s.stop();
  await upstream?.stop();
  await dropEnv(env);
}
