import type { Db } from './open.ts';

/** Deletes short-lived rows past their expiry so tables do not grow without bound. */
export async function sweepExpired(db: Db, now: number): Promise<Record<string, number>> {
  const swept: Record<string, number> = {};
  for (const table of ['connect_flows', 'connect_sessions', 'authorization_requests', 'authorization_codes', 'access_tokens'] as const) {
    const result = await db.deleteFrom(table).where('expires_at', '<=', now).executeTakeFirst();
    swept[table] = Number(result.numDeletedRows);
  }
  return swept;
}
