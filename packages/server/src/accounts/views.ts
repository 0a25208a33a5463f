import { fromJson, type AccountRow } from '../store/index.ts';

/** An account as the API shows it: never a token. */
export interface AccountView {
  id: string;
  provider: string;
  status: AccountRow['status'];
  end_user_id: string | null;
  name: string | null;
  email: string | null;
  scope: string;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export function toAccountView(row: AccountRow): AccountView {
  return {
    id: row.id,
    provider: row.provider,
    status: row.status,
    end_user_id: row.end_user_id,
    name: row.name,
    email: row.email,
    scope: row.scope,
    metadata: fromJson(row.metadata, {}),
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}
