import type { Db } from './open.ts';

/** Deletes short-lived rows past their expiry so tables do not grow without bound. */
export async function sweepExpired(db: Db, now: number): Promise<Record<string, number>> {
  const flows = await db.deleteFrom('connect_flows').where('expires_at', '<=', now).executeTakeFirst();
  const sessions = await db.deleteFrom('connect_sessions').where('expires_at', '<=', now).executeTakeFirst();
  return { connect_flows: Number(flows.numDeletedRows), connect_sessions: Number(sessions.numDeletedRows) };
}
