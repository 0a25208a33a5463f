import type { Db } from './open.ts';
import { sweepWebhookDeliveries } from './webhooks.ts';

/** Delivered and given-up webhook deliveries stay visible (GET /v1/webhook/deliveries) this long. */
export const WEBHOOK_DELIVERY_RETENTION_MS = 7 * 24 * 3600 * 1000;

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
  swept.webhook_deliveries = await sweepWebhookDeliveries(db, now - WEBHOOK_DELIVERY_RETENTION_MS);
  return swept;
}
