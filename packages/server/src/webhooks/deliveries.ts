import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { listWebhookDeliveries, type WebhookDeliveryRow } from '../store/index.ts';

/** A delivery as the API shows it (the payload is the account's view: no token). */
export interface DeliveryView {
  id: string;
  event_id: string;
  event_type: string;
  status: WebhookDeliveryRow['status'];
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function view(row: WebhookDeliveryRow): DeliveryView {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    last_status: row.last_status,
    last_error: row.last_error,
    delivered_at: iso(row.delivered_at),
    created_at: iso(row.created_at)!,
  };
}

const encodeCursor = (row: WebhookDeliveryRow) => Buffer.from(`${row.created_at}|${row.id}`, 'utf8').toString('base64url');
function decodeCursor(cursor: string): { at: number; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id || !/^\d+$/.test(at) || !/^whd_[A-Za-z0-9]+$/.test(id)) return fail(ErrorCode.invalidRequest, 'cursor is not one this API gave out');
  return { at: Number(at), id };
}

/** The app's webhook deliveries, newest first, in pages. */
export async function listDeliveries(
  services: Services,
  appId: string,
  input: { status?: WebhookDeliveryRow['status'] | undefined; cursor?: string | undefined; limit?: number | undefined },
): Promise<{ data: DeliveryView[]; next_cursor: string | null }> {
  const limit = Math.min(Math.max(input.limit ?? 50, 1), 200);
  const rows = await listWebhookDeliveries(services.db, appId, {
    limit: limit + 1,
    status: input.status,
    before: input.cursor ? decodeCursor(input.cursor) : undefined,
  });
  const page = rows.slice(0, limit);
  return { data: page.map(view), next_cursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null };
}
