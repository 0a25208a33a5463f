import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LOG_DIR, REPO_ROOT } from './paths.ts';

const BIN = join(REPO_ROOT, 'packages/server/bin/gatehouse.js');

export interface GatehouseProcess {
  url: string;
  pid: number;
  /** The process's resident memory now, in bytes (from /proc). */
  rss(): number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `gatehouse serve` as a child process (the real CLI, through tsx), with its log written into the
 * suite's log folder for the log scan. Resolves once /healthz answers.
 */
export async function startGatehouseProcess(name: string, env: Record<string, string>): Promise<GatehouseProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${name}-${process.pid}-${randomBytes(4).toString('hex')}.log`);
  const log = openSync(logFile, 'a');
  // whatever the outer environment configures must not leak into the child
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('GATEHOUSE_') && !['PORT', 'HOST', 'NODE_ENV'].includes(key)),
  );
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve'], {
    cwd: mkdtempSync(join(tmpdir(), 'gatehouse-process-')),
    env: { ...inherited, GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-data-')), ...env, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_BASE_URL: url },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`gatehouse ${name} exited at start: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gatehouse ${name} did not start: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    url,
    pid: child.pid!,
    rss() {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      return Number(kb) * 1024;
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(force);
    },
  };
}
