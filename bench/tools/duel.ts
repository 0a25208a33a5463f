// Two Gatehouse builds under one case at the same time, on the same server core, each with its
// own load generator: the machine's speed swings (up to 2x within a minute on the reference VM)
// then hit both alike, and the ratio of their CPU per request shows differences of a few percent
// that alternating rounds (ab.ts) lose in the noise. Prints each round and the median ratio.
// Usage: [STORE=postgres] [STORE_B=postgres] ROUNDS=10 SECONDS=3 node --import tsx bench/tools/duel.ts verify|introspect|cc|proxy <bin A> <bin B>
// (a bin may be written <bin>::<node flags>, as in ab.ts; STORE_B gives B a store of its own kind,
// to set one build on SQLite against itself on PostgreSQL; for verify and introspect, the bin
// "floor" is bare Fastify doing only the work those answers cannot skip: baselines/fastify-floor.ts)
import { APP_SCOPES } from '../lib/cases-as.ts';
import { toolCase, toolSpecs } from '../lib/cases-proxy.ts';
import { dropEnv, freshEnv, seedApp, startBuild } from '../lib/gatehouse.ts';
import { holdCoresPolling } from '../lib/idle.ts';
import { load, type LoadSpec } from '../lib/load.ts';
import { median } from '../lib/table.ts';
import { startNode, type Service } from '../lib/processes.ts';
import { benchProvidersDir, seedProxyAccount, startUpstream } from '../lib/upstream.ts';

const USAGE = 'duel.ts verify|introspect|cc|proxy <bin A> <bin B>';
const [name = 'introspect', binA, binB] = process.argv.slice(2);
const which = toolCase(name, USAGE);
if (!binA || !binB) throw new Error(`usage: ${USAGE}`);
if ((binA === 'floor' || binB === 'floor') && which !== 'verify' && which !== 'introspect') throw new Error('the floor answers verify and introspect only');
const rounds = Number(process.env.ROUNDS ?? '10');
const seconds = Number(process.env.SECONDS ?? '3');
const upstream = which === 'proxy' ? await startUpstream() : undefined;
const storeKind = (value: string | undefined) => (value === 'postgres' ? 'postgres' : 'sqlite');

/** A database seeded with one app (and an account for the proxy), and the load on a build served from it. */
async function seeded(kind: 'sqlite' | 'postgres') {
  const env = await freshEnv(kind, upstream ? benchProvidersDir(upstream.url) : undefined);
  const creds = await seedApp(env, APP_SCOPES);
  const accountId = upstream ? await seedProxyAccount(env, creds, { upstreamToken: 'up_at_live', expiresAt: Date.now() + 3600_000 }) : '';
  const start = (name: string, spec: string) =>
    spec === 'floor' ? startNode(name, new URL('../baselines/fastify-floor.ts', import.meta.url).pathname, { probePath: '/healthz' }) : startBuild(name, spec, env);
  const target = (g: Service, secondsEach: number): LoadSpec => toolSpecs({ connections: 50, seconds: secondsEach }, { service: g, creds }, accountId)[which];
  return { env, start, target };
}

const forA = await seeded(storeKind(process.env.STORE));
const forB = process.env.STORE_B === undefined ? forA : await seeded(storeKind(process.env.STORE_B));
const services: Service[] = [];
const idle = holdCoresPolling();
try {
  const a = await forA.start('A', binA);
  services.push(a);
  const b = await forB.start('B', binB);
  services.push(b);
  await Promise.all([load(forA.target(a, 2)), load(forB.target(b, 2))]); // warm-up
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const [ra, rb] = await Promise.all([load(forA.target(a, seconds)), load(forB.target(b, seconds))]);
    const ratio = rb.cpuUsPerRequest! / ra.cpuUsPerRequest!;
    ratios.push(ratio);
    console.log(
      `  A ${Math.round(ra.rps)} rps ${ra.cpuUsPerRequest!.toFixed(1)} µs · B ${Math.round(rb.rps)} rps ${rb.cpuUsPerRequest!.toFixed(1)} µs · ` +
        `B/A CPU ${ratio.toFixed(3)}${ra.errors + rb.errors ? ` · errors ${ra.errors + rb.errors}` : ''}`,
    );
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  console.log(`B/A CPU per request: median ${median(ratios).toFixed(3)}, range ${sorted[0]!.toFixed(3)}–${sorted.at(-1)!.toFixed(3)} over ${rounds} rounds`);
} finally {
  idle.release();
  for (const s of services) await s.stop();
  await upstream?.stop();
  await dropEnv(forA.env);
  if (forB !== forA) await dropEnv(forB.env);
}
