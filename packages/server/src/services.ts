import type { Logger } from 'pino';
import type { Catalog } from './catalog/index.ts';
import type { Config } from './config.ts';
import type { Db } from './store/index.ts';
import type { Vault } from './vault/index.ts';

/** Milliseconds since the epoch; injected so tests can move time. */
export type Clock = () => number;

/** What the domain functions work with; built once by main.ts (or a test) and passed down. */
export interface Services {
  config: Config;
  db: Db;
  vault: Vault;
  catalog: Catalog;
  clock: Clock;
  logger: Logger;
}
