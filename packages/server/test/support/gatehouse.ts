import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { openServices } from '../../src/boot.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { Services } from '../../src/services.ts';
import type { Store } from '../../src/store/index.ts';
import { generateKeyringSpec } from '../../src/vault/index.ts';
import { LOG_DIR } from './paths.ts';
import { recordSecret } from './secrets.ts';
import { freshDatabase, type StoreKind, type TestDatabase } from './stores.ts';

export interface RunningGatehouse {
  url: string;
  services: Services & { store: Store };
  app: FastifyInstance;
  database: TestDatabase;
  secretKeys: string;
  close(): Promise<void>;
}

/** A logger writing to the suite's log folder, which the log scan reads at the end. */
export function testLogger(name: string) {
  const file = join(LOG_DIR, `${name}-${process.pid}-${randomBytes(4).toString('hex')}.log`);
  return createLogger('debug', pino.destination({ dest: file, sync: true, mkdir: true }));
}

export interface StartOptions {
  kind: StoreKind;
  providersDir?: string;
  env?: Record<string, string>;
  clock?: () => number;
  /** Instead of the suite's file logger (whose lines the log scan reads). */
  logger?: Logger;
}

/** A real Gatehouse over a fresh database, listening on 127.0.0.1 with its base URL set to where it listens. */
export async function startGatehouse(options: StartOptions): Promise<RunningGatehouse> {
  const database = await freshDatabase(options.kind);
  const secretKeys = generateKeyringSpec('test1');
  recordSecret(secretKeys.split(':')[1]);
  const config = loadConfig(
    {
      GATEHOUSE_DATABASE_URL: database.target.kind === 'sqlite' ? `sqlite:${database.target.path}` : database.target.url,
      GATEHOUSE_SECRET_KEYS: secretKeys,
      GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-data-')),
      ...(options.providersDir ? { GATEHOUSE_PROVIDERS_DIR: options.providersDir } : {}),
      ...options.env,
    },
    process.cwd(),
  );
  const services = await openServices(config, options.logger ?? testLogger(`gatehouse-${options.kind}`));
  if (options.clock) services.clock = options.clock;
  const app = await buildApp(services);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  config.baseUrl = address.replace('localhost', '127.0.0.1');
  return {
    url: config.baseUrl,
    services,
    app,
    database,
    secretKeys,
    async close() {
      await app.close();
      await services.store.close();
      await database.drop();
    },
  };
}
