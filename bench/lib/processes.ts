// Child processes of the bench: each server and each load generator runs in its own process,
// pinned to a core with taskset where it exists.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const HAS_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** The core the servers run on and the one the load generator runs on (when there are two). */
export const SERVER_CPUS = '0';
export const LOAD_CPUS = '1';
/**
 * The local upstream stands in for a provider on another machine, so it runs beside the load
 * generator rather than on the core of the proxy under test: sharing that core made each proxied
 * call pay for switching to the upstream and back, and let the upstream's work pad both proxies'
 * figures alike.
 */
export const UPSTREAM_CPUS = LOAD_CPUS;

/**
 * Scheduling priority of the bench's servers and load generator (nice value; lower is higher
 * priority). On a shared machine this keeps other work from landing in the middle of a
 * measurement; both sides of every comparison get the same. Needs root (`nice`); ignored otherwise.
 */
export const BENCH_NICE = Number(process.env.BENCH_NICE ?? -10);

const CAN_RAISE_PRIORITY = spawnSync('nice', ['-n', String(BENCH_NICE), 'true']).status === 0 && process.getuid?.() === 0;

/** A command line, prefixed with `taskset -c cpus` when taskset exists. */
export function pinned(cpus: string, command: string, args: string[]): [string, string[]] {
  const [first, rest] = CAN_RAISE_PRIORITY ? ['nice', ['-n', String(BENCH_NICE), command, ...args]] : [command, args];
  return HAS_TASKSET ? ['taskset', ['-c', cpus, first, ...rest]] : [first, rest];
}

export const PRIORITY_NOTE = CAN_RAISE_PRIORITY ? `nice ${BENCH_NICE}` : 'normal priority';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Service {
  name: string;
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Peak resident set size so far (VmHWM), in bytes; undefined without /proc. */
  peakRss(): number | undefined;
  stop(): Promise<void>;
}

/** VmHWM of a process in bytes (its peak RSS over its life), from /proc. */
export function vmHwm(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function waitForHttp(url: string, child: ChildProcess, name: string, log: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${log()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${name} did not answer at ${url} within ${timeoutMs / 1000} s:\n${log()}`);
}

/** Starts `node [nodeArgs] script` on the server core, waits until it answers HTTP at probePath. */
export async function startNode(
  name: string,
  script: string,
  options: { env?: Record<string, string>; port?: number; nodeArgs?: string[]; scriptArgs?: string[]; probePath?: string; cpus?: string },
): Promise<Service> {
  const port = options.port ?? (await freePort());
  const [command, args] = pinned(options.cpus ?? SERVER_CPUS, process.execPath, [
    ...(options.nodeArgs ?? ['--import', 'tsx']),
    script,
    ...(options.scriptArgs ?? []),
  ]);
  const child = spawn(command, args, {
    env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'development', ...options.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForHttp(`${url}${options.probePath ?? '/'}`, child, name, () => output);
  const pid = child.pid!;
  let peak: number | undefined;
  const peakRss = () => {
    const now = vmHwm(pid);
    if (now !== undefined) peak = Math.max(peak ?? 0, now);
    return peak;
  };
  return {
    name,
    url,
    port,
    pid,
    child,
    peakRss,
    async stop() {
      peakRss();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(force);
      }
    },
  };
}
