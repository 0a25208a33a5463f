import type { Db } from '../store/index.ts';
import { findWebhookEndpoint, insertWebhookDelivery } from '../store/index.ts';
import { newId } from '../vault/index.ts';

export const WEBHOOK_EVENTS = ['account.connected', 'account.reconnected', 'account.refresh_failed', 'account.recovered', 'account.revoked'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** The body every delivery of one event carries. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  created_at: string;
  data: { account: object } & Record<string, unknown>;
}

/**
 * Queues an event for the app's webhook, if it has one, through `db` (pass the transaction that
 * makes the state change, so the event exists exactly when the change does). The worker sends it.
 */
export async function enqueueWebhookEvent(
  db: Db,
  event: { appId: string; type: WebhookEventType; data: WebhookEvent['data']; now: number },
): Promise<string | undefined> {
  if (!(await findWebhookEndpoint(db, event.appId))) return undefined;
  const body: WebhookEvent = { id: newId('evt'), type: event.type, created_at: new Date(event.now).toISOString(), data: event.data };
  const id = newId('whd');
  await insertWebhookDelivery(db, {
    id,
    app_id: event.appId,
    event_id: body.id,
    event_type: event.type,
    payload: JSON.stringify(body),
    status: 'pending',
    next_attempt_at: event.now,
    last_status: null,
    last_error: null,
    delivered_at: null,
    created_at: event.now,
  });
  return id;
}
