// The load generator: wrk when installed (a Lua script sets method, body and headers and prints a
// JSON summary), else autocannon's CLI. Always a separate process, on the load core.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOAD_CPUS, pinned } from './processes.ts';
import { median } from './table.ts';

export const LOAD_GENERATOR: 'wrk' | 'autocannon' = spawnSync('wrk', ['--version']).error ? 'autocannon' : 'wrk';
const WRK_SCRIPT = fileURLToPath(new URL('../wrk/bench.lua', import.meta.url));

export interface LoadSpec {
  url: string;
  /** The server process, whose CPU time per request is measured alongside. */
  pid?: number;
  method?: 'GET' | 'POST';
  body?: string;
  authorization?: string;
  contentType?: string;
  connections: number;
  seconds: number;
  /** Cycle through these requests (path + Authorization) instead of one URL (wrk only). */
  requests?: { path: string; authorization: string }[];
}

export interface LoadResult {
  rps: number;
  requests: number;
  /** Non-2xx answers, socket errors and timeouts. */
  errors: number;
  latencyUs: { p50: number; p90: number; p99: number };
  /** CPU time the server process spent per request (user + system), when its pid was given. */
  cpuUsPerRequest?: number;
}

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** User + system CPU time of a process so far, in microseconds (from /proc/<pid>/stat). */
export function cpuTimeUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] and [12] are utime and stime (fields 14 and 15 of proc(5))
    return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1e6;
  } catch {
    return undefined;
  }
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

let listCount = 0;

/** Writes a request list for bench.lua; returns its path. */
function requestList(requests: { path: string; authorization: string }[]): string {
  const file = join(tmpdir(), `gatehouse-bench-requests-${process.pid}-${listCount++}.tsv`);
  writeFileSync(file, requests.map((r) => `${r.path}\t${r.authorization}`).join('\n') + '\n', { mode: 0o600 });
  return file;
}

async function wrk(spec: LoadSpec): Promise<LoadResult> {
  const threads = Math.min(2, spec.connections);
  const list = spec.requests ? requestList(spec.requests) : '';
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
    WRK_REQUESTS: list,
  }).finally(() => list && rmSync(list, { force: true }));
  return parseWrk(output);
}

async function autocannon(spec: LoadSpec): Promise<LoadResult> {
  if (spec.requests) {
    // autocannon's CLI takes one request: use the first of the list
    const first = spec.requests[0]!;
    spec = { ...spec, url: new URL(first.path, spec.url).href, authorization: first.authorization, requests: undefined };
  }
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
export async function load(spec: LoadSpec): Promise<LoadResult> {
  const cpuBefore = spec.pid === undefined ? undefined : cpuTimeUs(spec.pid);
  const result = await (LOAD_GENERATOR === 'wrk' ? wrk(spec) : autocannon(spec));
  const cpuAfter = spec.pid === undefined ? undefined : cpuTimeUs(spec.pid);
  if (cpuBefore !== undefined && cpuAfter !== undefined && result.requests > 0) result.cpuUsPerRequest = (cpuAfter - cpuBefore) / result.requests;
  return result;
}

/** A warm-up run (result discarded) followed by the measured run. */
export async function measure(spec: LoadSpec, warmupSeconds: number): Promise<LoadResult> {
  if (warmupSeconds > 0) await load({ ...spec, seconds: warmupSeconds });
  return load(spec);
}

export type Measured = LoadResult & { samples: number[]; cpuSamples: number[] };

/** Which figure a case compares: throughput, or (for latency cases) the median latency. */
export type Better = 'rps' | 'p50';

/**
 * The order of one round: the targets as given, flipped every other round; a `reference` (the
 * baseline the others are compared with) runs in the middle, so that with two others both run
 * right next to it. Placed first, the second of two others ran two slots, seconds, away from it,
 * and the machine's drift within a round weighed more on its ratio.
 */
export function roundOrder<K extends string>(keys: K[], round: number, reference?: K): K[] {
  let order = keys;
  if (reference !== undefined && keys.includes(reference)) {
    const others = keys.filter((k) => k !== reference);
    const half = Math.ceil(others.length / 2);
    order = [...others.slice(0, half), reference, ...others.slice(half)];
  }
  return round % 2 === 0 ? order : [...order].reverse();
}

/**
 * Measures several targets in alternating rounds (the order flips each round, so round i of each
 * target runs next to round i of the others; see roundOrder) and keeps every round's figure in
 * order, for the table to compare round by round (see judge in table.ts). Each target's own
 * figures are the medians of its rounds; errors add up over all rounds and are never hidden.
 */
export async function alternate<K extends string>(
  specs: Record<K, LoadSpec>,
  options: { rounds: number; warmup: number; better?: Better; reference?: NoInfer<K>; log?: (message: string) => void },
): Promise<Record<K, Measured>> {
  const keys = Object.keys(specs) as K[];
  const rounds = Object.fromEntries(keys.map((k) => [k, [] as LoadResult[]])) as Record<K, LoadResult[]>;
  for (let round = 0; round < options.rounds; round++) {
    const order = roundOrder(keys, round, options.reference);
    for (const key of order) {
      const spec = specs[key];
      const result = round === 0 ? await measure(spec, options.warmup) : await load(spec);
      const cpu = result.cpuUsPerRequest === undefined ? '' : `, ${result.cpuUsPerRequest.toFixed(1)} µs CPU/request`;
      const figure = options.better === 'p50' ? `p50 ${result.latencyUs.p50} µs` : `${Math.round(result.rps)} rps`;
      options.log?.(`  ${key}: ${figure}${cpu}${result.errors ? `, ${result.errors} errors` : ''}`);
      rounds[key].push(result);
    }
  }
  const summary = {} as Record<K, Measured>;
  for (const key of keys) {
    const results = rounds[key];
    const cpuSamples = results.flatMap((r) => (r.cpuUsPerRequest === undefined ? [] : [r.cpuUsPerRequest]));
    summary[key] = {
      rps: median(results.map((r) => r.rps)),
      requests: results.reduce((sum, r) => sum + r.requests, 0),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
      latencyUs: {
        p50: median(results.map((r) => r.latencyUs.p50)),
        p90: median(results.map((r) => r.latencyUs.p90)),
        p99: median(results.map((r) => r.latencyUs.p99)),
      },
      samples: results.map((r) => (options.better === 'p50' ? r.latencyUs.p50 : r.rps)),
      cpuSamples,
      ...(cpuSamples.length ? { cpuUsPerRequest: median(cpuSamples) } : {}),
    };
  }
  return summary;
}
