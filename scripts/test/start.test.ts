import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../packages/server/test/support/paths.ts';
import { recordSecret } from '../../packages/server/test/support/secrets.ts';
import type { DemoFile, SandboxClientFile } from '../demo-setup.ts';

// `npm start` as a person runs it, in a data folder of its own and on free ports: it comes up
// offline, registers the demo once, and SIGINT (Ctrl-C) or SIGTERM stops every process it started.

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether nothing listens on the port any more. */
async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-start-'));
const started: ChildProcess[] = [];
let ports: { gatehouse: number; sandbox: number; example: number };

/** Runs `npm start` until it prints that the demo is up; returns its output so far. */
async function npmStart(): Promise<{ child: ChildProcess; output: () => string }> {
  ports ??= { gatehouse: await freePort(), sandbox: await freePort(), example: await freePort() };
  const child = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_DATABASE_URL: `sqlite:${join(dataDir, 'gatehouse.db')}`,
      PORT: String(ports.gatehouse),
      SANDBOX_PORT: String(ports.sandbox),
      EXAMPLE_PORT: String(ports.example),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${out}`)), 60_000);
    const check = () => {
      if (out.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${out}`)));
  });
  return { child, output: () => out };
}

async function stopWith(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('npm start', () => {
  it('brings the demo up offline, prints the one URL, and stops everything on SIGINT', async () => {
    const { child, output } = await npmStart();
    const demo = JSON.parse(readFileSync(join(dataDir, 'demo.json'), 'utf8')) as DemoFile;
    const client = JSON.parse(readFileSync(join(dataDir, 'sandbox-client.json'), 'utf8')) as SandboxClientFile;
    recordSecret(demo.popup.apiKey, demo.serverFlow.apiKey, demo.serverFlow.clientSecret, client.clientSecret);
    expect(statSync(join(dataDir, 'demo.json')).mode & 0o777).toBe(0o600);
    expect(demo.gatehouseUrl).toBe(`http://localhost:${ports.gatehouse}`);
    expect(output()).toMatch(new RegExp(`Open http://localhost:(${ports.example}|${ports.gatehouse})\\n`));
    expect(output()).toContain('registered');

    expect((await fetch(`http://127.0.0.1:${ports.gatehouse}/healthz`)).status).toBe(200);
    const discovery = (await (await fetch(`http://127.0.0.1:${ports.sandbox}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).toBe(`http://localhost:${ports.sandbox}`);
    // the popup app may connect Sandbox Drive: /oauth/authorize goes straight to the sandbox's sign-in
    const authorize = new URL(`http://127.0.0.1:${ports.gatehouse}/oauth/authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: demo.popup.clientId,
      redirect_uri: demo.popup.redirectUri,
      scope: 'storage',
      state: 'state-of-the-start-test',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const toUpstream = await fetch(authorize, { redirect: 'manual' });
    expect(toUpstream.status).toBe(303);
    expect(toUpstream.headers.get('location')).toMatch(new RegExp(`^http://localhost:${ports.sandbox}/auth\\?`));

    expect(await stopWith(child, 'SIGINT')).toBe(0);
    for (const port of Object.values(ports)) expect(await isFree(port)).toBe(true);
  });

  it('reuses the demo apps on a second start, and stops on SIGTERM', async () => {
    const before = readFileSync(join(dataDir, 'demo.json'), 'utf8');
    const { child, output } = await npmStart();
    expect(output()).toContain('reused');
    expect(readFileSync(join(dataDir, 'demo.json'), 'utf8')).toBe(before);
    expect(await stopWith(child, 'SIGTERM')).toBe(0);
    for (const port of Object.values(ports)) expect(await isFree(port)).toBe(true);
  });
});
