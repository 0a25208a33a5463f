import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { openServices } from './boot.ts';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { createLogger } from './logger.ts';
import type { Services } from './services.ts';
import { startRefresher } from './accounts/index.ts';
import { sweepExpired, type Store } from './store/index.ts';
import { startWebhookWorker } from './webhooks/index.ts';

export const SWEEP_INTERVAL_MS = 60_000;

export interface RunningServer {
  app: FastifyInstance;
  services: Services & { store: Store };
  /** Stops taking requests, then closes the store. */
  close(): Promise<void>;
}

/** Opens the services, builds the app and listens; no signal handling (see serve, and `npm start`'s demo). */
export async function startServer(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const services = await openServices(config, logger);
  const app = await buildApp(services);
  const sweeper = setInterval(() => {
    sweepExpired(services.db, services.clock()).catch((err: unknown) => logger.warn({ err }, 'sweeping expired rows failed'));
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();
  const refresher = startRefresher(services);
  const webhooks = startWebhookWorker(services, { pollMs: config.webhookPollMs });
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    await Promise.all([refresher?.stop(), webhooks.stop()]);
    await services.store.close();
  });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close();
    throw err;
  }
  logger.info(
    { url: config.baseUrl, database: services.store.kind, mode: config.mode, providers: services.catalog.list().length },
    `Gatehouse is listening on ${config.baseUrl}`,
  );
  return { app, services, close: () => app.close() };
}

/** Runs the server until SIGINT/SIGTERM, then stops taking requests and closes the store. */
export async function serve(config: Config): Promise<FastifyInstance> {
  const logger = createLogger(config.logLevel);
  const { app } = await startServer(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return app;
}
