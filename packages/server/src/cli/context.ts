import { openServices } from '../boot.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import type { Services } from '../services.ts';

/** Runs a CLI action against the configured database, closing it afterwards. */
export async function withServices<T>(action: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const services = await openServices(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr as never));
  try {
    return await action(services);
  } finally {
    await services.store.close();
  }
}

export const print = (line = ""): void => {
  process.stdout.write(`${line}\n`);
};
export const printJson = (value: unknown): void => print(JSON.stringify(value, null, 2));
export const splitScopes = (value: string | undefined) => (value === undefined ? undefined : value.split(/[\s,]+/).filter(Boolean));
