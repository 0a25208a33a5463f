import type { Migration, MigrationProvider } from 'kysely';
import * as core from './2026_11_22_001_core.ts';
import * as authorization from './2026_11_22_002_authorization.ts';
import * as authorizationRequests from './2026_11_22_003_authorization_requests.ts';
import * as refreshBackoff from './2026_11_22_004_refresh_backoff.ts';
import * as proxy from './2026_11_23_005_proxy.ts';
import * as webhooks from './2026_11_23_006_webhooks.ts';
import * as relay from './2026_11_23_007_relay.ts';

/** Every migration, in order; one set for SQLite and PostgreSQL. */
const MIGRATIONS: Record<string, Migration> = {
  '2026_11_22_001_core': core,
  '2026_11_22_002_authorization': authorization,
  '2026_11_22_003_authorization_requests': authorizationRequests,
  '2026_11_22_004_refresh_backoff': refreshBackoff,
  '2026_11_23_005_proxy': proxy,
  '2026_11_23_006_webhooks': webhooks,
  '2026_11_23_007_relay': relay,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
export const LATEST_MIGRATION = Object.keys(MIGRATIONS).at(-1)!;
