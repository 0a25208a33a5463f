import { sql } from 'kysely';
import type { Db } from './open.ts';

/** Advisory lock keys (PostgreSQL bigint): one per job that must run once cluster-wide. */
export const CLUSTER_LOCKS = { refresher: 0x6761_7465_0001 } as const;

/**
 * Runs `work` only if no other instance holds `key`: on PostgreSQL a transaction-scoped
 * `pg_try_advisory_xact_lock`, released when `work` ends (or the connection dies); on SQLite
 * (one process) it just runs. Returns undefined when another instance holds the lock.
 */
export async function withClusterLock<T>(db: Db, postgres: boolean, key: number, work: () => Promise<T>): Promise<T | undefined> {
  if (!postgres) return work();
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${key}::bigint) as locked`.execute(trx);
    if (!rows[0]?.locked) return undefined;
    return work();
  });
}
