// Probe of the growth case: one grown Gatehouse (ROWS, default 1,000), verify over its whole token
// list against verify with a single token of the same store, in alternating rounds, with the
// server's CPU per request. Usage: node --import tsx bench/tools/probe-growth.ts [rounds]
import { rmSync } from 'node:fs';
import { closeGrown, grownGatehouse } from '../lib/cases-growth.ts';
import { holdCoresPolling } from '../lib/idle.ts';
import { alternate, cpuTimeUs, type LoadSpec } from '../lib/load.ts';
import { BENCH_PROVIDER, benchProvidersDir, seedIntegration, startUpstream } from '../lib/upstream.ts';

const rounds = Number(process.argv[2] ?? 4);
const upstream = await startUpstream();
const providersDir = benchProvidersDir(upstream.url);
const grown = { provider: BENCH_PROVIDER, providersDir, upstreamToken: 'up_at_seeded', beforeStart: seedIntegration };
const g = await grownGatehouse(Number(process.env.ROWS ?? 1000), grown);
const other = process.env.OTHER_ROWS ? await grownGatehouse(Number(process.env.OTHER_ROWS), grown) : undefined;
const idle = holdCoresPolling();
const otherCpu = other && cpuTimeUs(other.service.pid);
const base = { url: g.service.url, pid: g.service.pid, connections: 50, seconds: 3 };
const first = g.seed.sample[0]!;
const specs: Record<string, LoadSpec> = {
  list: { ...base, requests: g.seed.sample.map((s) => ({ path: '/v1/oauth/token', authorization: `Bearer ${s.accessToken}` })) },
  listOfOne: { ...base, requests: [{ path: '/v1/oauth/token', authorization: `Bearer ${first.accessToken}` }] },
  single: { ...base, url: `${g.service.url}/v1/oauth/token`, authorization: `Bearer ${first.accessToken}` },
};
await alternate(specs, { rounds, warmup: 2, log: console.log });
idle.release();
if (other) console.log(`idle other Gatehouse used ${((cpuTimeUs(other.service.pid)! - otherCpu!) / 1e6).toFixed(2)} s CPU meanwhile`);
await closeGrown(other);
await closeGrown(g);
await upstream.stop();
rmSync(providersDir, { recursive: true, force: true });
