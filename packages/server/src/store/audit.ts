import type { Db } from './open.ts';
import { toJson } from './json.ts';

export interface AuditEvent {
  id: string;
  appId: string | null;
  actor: string;
  action: string;
  subject: string | null;
  detail?: Record<string, unknown>;
  at: number;
}

export async function recordAudit(db: Db, event: AuditEvent): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      id: event.id,
      app_id: event.appId,
      actor: event.actor,
      action: event.action,
      subject: event.subject,
      detail: toJson(event.detail ?? {}),
      created_at: event.at,
    })
    .execute();
}
