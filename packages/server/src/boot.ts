import type { Logger } from 'pino';
import { loadCatalog } from './catalog/index.ts';
import type { Services } from './services.ts';
import { migrateToLatest, openStore, type Store } from './store/index.ts';
import { ConfigError, type Config } from './config.ts';
import { createVault, KeyringError, loadOrCreateDevKeys, parseKeyring, type Keyring } from './vault/index.ts';

/** The keyring from GATEHOUSE_SECRET_KEYS, or in development the generated key file. */
function keyringSpec(config: Config, logger: Logger): string {
  if (config.secretKeys) return config.secretKeys;
  const { spec, path, generated } = loadOrCreateDevKeys(config.dataDir);
  if (generated) {
    logger.warn({ path }, 'development mode: generated a secret key file; set GATEHOUSE_SECRET_KEYS in production');
  }
  return spec;
}

/** Opens everything the domain needs: keyring, store (migrated), catalog. */
export async function openServices(config: Config, logger: Logger): Promise<Services & { store: Store }> {
  let keyring: Keyring;
  try {
    keyring = parseKeyring(keyringSpec(config, logger));
  } catch (err) {
    if (err instanceof KeyringError) throw new ConfigError('GATEHOUSE_SECRET_KEYS', err.message);
    throw err;
  }
  const catalog = loadCatalog({ extraDir: config.providersDir, allowInsecure: config.allowInsecureUpstreams, sandboxUrl: config.sandboxUrl });
  const store = openStore(config.database);
  try {
    await migrateToLatest(store.db);
  } catch (err) {
    await store.close();
    throw err;
  }
  return { config, db: store.db, store, vault: createVault(keyring), catalog, clock: Date.now, logger };
}
