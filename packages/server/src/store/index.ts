export { openStore, migrateToLatest, migrationsCurrent, ping, MigrationError, type Store, type StoreTarget, type Db } from './open.ts';
export type * from './schema.ts';
export { toJson, fromJson } from './json.ts';
export * from './apps.ts';
export * from './integrations.ts';
export * from './accounts.ts';
export * from './flows.ts';
export * from './audit.ts';
export * from './sweep.ts';
