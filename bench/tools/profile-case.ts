// Profiles Gatehouse (SQLite) under one case: starts it with --cpu-prof, runs the load, stops it
// and prints where the time went, per request of the measured load (INCLUSIVE=1 adds the
// whole profile's inclusive times). Usage: node --import tsx bench/tools/profile-case.ts verify|introspect|cc|proxy [seconds]
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { APP_SCOPES } from '../lib/cases-as.ts';
import { dropEnv, freshEnv, seedApp, startGatehouse } from '../lib/gatehouse.ts';
import { holdCoresPolling } from '../lib/idle.ts';
import { load } from '../lib/load.ts';
import { toolCase, toolSpecs } from '../lib/cases-proxy.ts';
import { benchProvidersDir, seedProxyAccount, startUpstream } from '../lib/upstream.ts';

const [name = 'verify', secondsArg = '5'] = process.argv.slice(2);
const which = toolCase(name, 'profile-case.ts verify|introspect|cc|proxy [seconds]');
const seconds = Number(secondsArg);
const upstream = which === 'proxy' ? await startUpstream() : undefined;
const env = await freshEnv(process.env.STORE === 'postgres' ? 'postgres' : 'sqlite', upstream ? benchProvidersDir(upstream.url) : undefined);
const creds = await seedApp(env, APP_SCOPES);
const accountId = upstream ? await seedProxyAccount(env, creds, { upstreamToken: 'up_at_live', expiresAt: Date.now() + 3600_000 }) : '';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-prof-'));
const gatehouse = await startGatehouse('gatehouse-prof', env, { nodeArgs: [...(process.env.NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...(process.env.NO_PROF ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`])] });
const specs = toolSpecs({ connections: 50, seconds }, { service: gatehouse, creds }, accountId);
const spec = specs[which];
const idle = holdCoresPolling();
await load({ ...spec, seconds: 2 }); // warm-up, outside the window counted below
const result = await load(spec);
idle.release();
console.log(`${which}: ${Math.round(result.rps)} rps, ${result.cpuUsPerRequest?.toFixed(1)} µs CPU/request, errors ${result.errors}, p50 ${result.latencyUs.p50} µs`);
if (upstream) console.log('upstream stats', await (await fetch(`${upstream.url}/_stats`)).text());
console.log(`peak RSS ${((gatehouse.peakRss() ?? 0) / 1048576).toFixed(0)} MB`);
await gatehouse.stop();
await upstream?.stop();
await dropEnv(env);
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (file && process.env.KEEP_PROF) console.log('profile:', join(dir, file));
if (file) {
  // per request over the measured load only (the profile ends when the process stops, just after it)
  const tool = (name: string) => new URL(`./${name}`, import.meta.url).pathname;
  spawnSync(process.execPath, ['--import', 'tsx', tool('per-request.ts'), join(dir, file), String(result.requests), '40', String(seconds)], { stdio: 'inherit' });
  if (process.env.INCLUSIVE) spawnSync(process.execPath, ['--import', 'tsx', tool('cpuprofile-top.ts'), join(dir, file), '45'], { stdio: 'inherit' });
}
