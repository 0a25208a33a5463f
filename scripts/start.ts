import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../packages/server/src/config.ts';
import { startServer, type RunningServer } from '../packages/server/src/main.ts';
import { startSandbox, type RunningSandbox } from '../sandbox/src/index.ts';
import { sandboxClient, setUpDemo } from './demo-setup.ts';

// `npm start`: the offline demo. Gatehouse (SQLite, dev key) on 4000, the sandbox provider on 4001,
// the example app on 4002; the demo apps registered if missing; one URL printed; Ctrl-C stops all.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Processes started beside Gatehouse and the sandbox, each only when its entry file exists. The
 * example app reads <data>/demo.json. Add a process here: it gets the demo's environment and
 * is stopped (SIGTERM, then SIGKILL after 5 s) with everything else.
 */
function children(urls: { gatehouse: string; example: string; examplePort: number; dataDir: string }) {
  return [
    {
      name: 'example',
      entry: join(ROOT, 'examples/cloud-text-upload/bin/example.js'),
      env: { EXAMPLE_PORT: String(urls.examplePort), EXAMPLE_URL: urls.example, GATEHOUSE_URL: urls.gatehouse, GATEHOUSE_DATA_DIR: urls.dataDir },
      url: urls.example,
    },
  ];
}

const say = (line = '') => process.stdout.write(`${line}\n`);
const port = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new ConfigError(name, `"${process.env[name]}" is not a port number`);
  return value;
};

async function main(): Promise<void> {
  if (process.env.NODE_ENV === 'production') {
    throw new ConfigError('NODE_ENV', 'npm start runs the offline demo, for development only; in production run npx gatehouse serve');
  }
  const gatehousePort = port('PORT', 4000);
  const sandboxPort = port('SANDBOX_PORT', 4001);
  const examplePort = port('EXAMPLE_PORT', 4002);
  const sandboxUrl = `http://localhost:${sandboxPort}`;
  const exampleUrl = `http://localhost:${examplePort}`;
  const config = loadConfig({ GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_SANDBOX_URL: sandboxUrl, ...process.env, PORT: String(gatehousePort) });
  if (config.sandboxUrl !== sandboxUrl) throw new ConfigError('GATEHOUSE_SANDBOX_URL', `npm start runs the sandbox at ${sandboxUrl}; leave the variable unset`);

  let sandbox: RunningSandbox | undefined;
  let server: RunningServer | undefined;
  const running: { name: string; process: ChildProcess }[] = [];
  let stopping = false;

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(code || 1), 10_000);
    force.unref();
    await Promise.all(
      running.map(
        ({ process: child }) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await server?.close().catch(() => {});
    await sandbox?.close().catch(() => {});
    say('Stopped.');
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  try {
    const client = sandboxClient(config.dataDir);
    sandbox = await startSandbox({
      port: sandboxPort,
      host: '127.0.0.1',
      url: sandboxUrl,
      clients: [{ client_id: client.clientId, client_secret: client.clientSecret, redirect_uris: [`${config.baseUrl}/connect/callback`], client_name: 'Gatehouse' }],
    });
    server = await startServer(config);
    const { demo, created } = await setUpDemo(server.services, { dataDir: config.dataDir, gatehouseUrl: config.baseUrl, sandboxUrl, exampleUrl, sandbox: client });
    let open = config.baseUrl;
    for (const spec of children({ gatehouse: config.baseUrl, example: exampleUrl, examplePort, dataDir: config.dataDir })) {
      if (!existsSync(spec.entry)) continue;
      const child = spawn(process.execPath, [spec.entry], { env: { ...process.env, ...spec.env }, stdio: 'inherit' });
      child.once('exit', (code, signal) => {
        if (stopping) return;
        say(`The ${spec.name} process stopped (${signal ?? `exit ${code}`}); stopping the demo.`);
        void stop(1);
      });
      running.push({ name: spec.name, process: child });
      open = spec.url;
    }
    say();
    say('Gatehouse demo is running, offline.');
    say();
    say(`  Open ${open}`);
    say();
    say(`  Gatehouse     ${config.baseUrl}  (database ${config.database.kind === 'sqlite' ? config.database.path : 'postgres'})`);
    say(`  Sandbox Drive ${sandboxUrl}  (demo users: ${demo.demoUsers.map((u) => `${u.login} / ${u.password}`).join(', ')})`);
    if (running.length === 0) say('  The example app (examples/cloud-text-upload) is not in this checkout.');
    say(`  Demo apps     ${created ? 'registered' : 'reused'}; credentials in ${join(config.dataDir, 'demo.json')}`);
    say();
    say('Press Ctrl-C to stop.');
  } catch (err) {
    process.stderr.write(`npm start: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : (err as Error).message}\n`);
    await stop(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`npm start: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
