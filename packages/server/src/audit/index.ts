import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { fromJson } from '../store/index.ts';

export interface AuditEntry {
  id: string;
  app_id: string | null;
  actor: string;
  action: string;
  subject: string | null;
  detail: Record<string, unknown>;
  created_at: string;
}

export interface ListAuditInput {
  /** undefined: every app's events (operator CLI only). */
  appId: string | undefined;
  action?: string | undefined;
  /** Events older than this cursor. */
  cursor?: string | undefined;
  limit?: number | undefined;
}

function decodeCursor(cursor: string): { at: number; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id || !/^\d+$/.test(at)) return fail(ErrorCode.invalidRequest, 'cursor is not one this API gave out');
  return { at: Number(at), id };
}

/** Who did what and when, newest first, in pages. */
export async function listAudit(services: Services, input: ListAuditInput): Promise<{ data: AuditEntry[]; next_cursor: string | null }> {
  const limit = Math.min(Math.max(input.limit ?? 50, 1), 200);
  let query = services.db.selectFrom('audit_log').selectAll();
  if (input.appId !== undefined) query = query.where('app_id', '=', input.appId);
  if (input.action) query = query.where('action', '=', input.action);
  if (input.cursor) {
    const { at, id } = decodeCursor(input.cursor);
    query = query.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]));
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map((row) => ({
      id: row.id,
      app_id: row.app_id,
      actor: row.actor,
      action: row.action,
      subject: row.subject,
      detail: fromJson(row.detail, {}),
      created_at: new Date(row.created_at).toISOString(),
    })),
    next_cursor: rows.length > limit && last ? Buffer.from(`${last.created_at}|${last.id}`).toString('base64url') : null,
  };
}
