import type { Db } from './open.ts';

/**
 * Deletes rows past their expiry so tables do not grow without bound. A used refresh token is
 * kept until it expires: until then its reuse must still be recognised (and revoke its grant).
 */
export async function sweepExpired(db: Db, now: number): Promise<Record<string, number>> {
  const swept: Record<string, number> = {};
  for (const table of ['connect_flows', 'connect_sessions', 'authorization_requests', 'authorization_codes', 'access_tokens', 'refresh_tokens', 'relay_results'] as const) {
    const result = await db.deleteFrom(table).where('expires_at', '<=', now).executeTakeFirst();
    swept[table] = Number(result.numDeletedRows);
  }
  return swept;
}
