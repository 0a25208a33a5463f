// The load generator: wrk when installed (a Lua script sets method, body and headers and prints a
// JSON summary), else autocannon's CLI. Always a separate process, on the load core.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LOAD_CPUS, pinned } from './processes.ts';

export const LOAD_GENERATOR: 'wrk' | 'autocannon' = spawnSync('wrk', ['--version']).error ? 'autocannon' : 'wrk';
const WRK_SCRIPT = fileURLToPath(new URL('../wrk/bench.lua', import.meta.url));

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  authorization?: string;
  contentType?: string;
  connections: number;
  seconds: number;
}

export interface LoadResult {
  rps: number;
  requests: number;
  /** Non-2xx answers, socket errors and timeouts. */
  errors: number;
  latencyUs: { p50: number; p90: number; p99: number };
}

function run(command: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}: ${err || out}`))));
  });
}

/** Parses the line bench.lua prints at the end of a wrk run. */
export function parseWrk(output: string): LoadResult {
  const line = output.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${output}`);
  const s = JSON.parse(line.slice('BENCH_JSON '.length)) as {
    requests: number;
    duration_us: number;
    errors: Record<string, number>;
    latency_us: { p50: number; p90: number; p99: number };
  };
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  return { rps: s.requests / (s.duration_us / 1e6), requests: s.requests, errors, latencyUs: s.latency_us };
}

async function wrk(spec: LoadSpec): Promise<LoadResult> {
  const threads = Math.min(2, spec.connections);
  const [command, args] = pinned(LOAD_CPUS, 'wrk', [
    `-t${threads}`,
    `-c${spec.connections}`,
    `-d${spec.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    WRK_SCRIPT,
    spec.url,
  ]);
  const output = await run(command, args, {
    WRK_METHOD: spec.method ?? 'GET',
    WRK_BODY: spec.body ?? '',
    WRK_AUTH: spec.authorization ?? '',
    WRK_CONTENT_TYPE: spec.contentType ?? '',
  });
  return parseWrk(output);
}

async function autocannon(spec: LoadSpec): Promise<LoadResult> {
  const bin = fileURLToPath(new URL('../../node_modules/autocannon/autocannon.js', import.meta.url));
  const args = [bin, '--json', '-c', String(spec.connections), '-d', String(spec.seconds), '-m', spec.method ?? 'GET'];
  if (spec.authorization) args.push('-H', `Authorization=${spec.authorization}`);
  if (spec.contentType) args.push('-H', `Content-Type=${spec.contentType}`);
  if (spec.body) args.push('-b', spec.body);
  args.push(spec.url);
  const [command, full] = pinned(LOAD_CPUS, process.execPath, args);
  const s = JSON.parse(await run(command, full, {})) as {
    requests: { total: number; average: number };
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    latency: { p50: number; p90: number; p99: number };
  };
  return {
    rps: s.requests.total / s.duration,
    requests: s.requests.total,
    errors: s.errors + s.timeouts + s.non2xx,
    latencyUs: { p50: s.latency.p50 * 1000, p90: s.latency.p90 * 1000, p99: s.latency.p99 * 1000 },
  };
}

/** Runs one bounded load against a URL and returns its throughput and latency. */
export function load(spec: LoadSpec): Promise<LoadResult> {
  return LOAD_GENERATOR === 'wrk' ? wrk(spec) : autocannon(spec);
}

/** A warm-up run (result discarded) followed by the measured run. */
export async function measure(spec: LoadSpec, warmupSeconds: number): Promise<LoadResult> {
  if (warmupSeconds > 0) await load({ ...spec, seconds: warmupSeconds });
  return load(spec);
}
