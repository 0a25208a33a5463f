import { revokeUpstream, type UpstreamRevocation } from '../connect/index.ts';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import {
  findAccount,
  findTokens,
  listAccounts as listAccountRows,
  recordAudit,
  toJson,
  fromJson,
  updateAccount,
  wipeAccountTokens,
  type AccountStatus,
} from '../store/index.ts';
import { newId } from '../vault/index.ts';
import { emitAccountEvent } from './events.ts';
import { toAccountView, type AccountView } from './views.ts';

export const PAGE_SIZE_MAX = 100;
export const METADATA_MAX_BYTES = 8 * 1024;

export interface ListAccountsInput {
  provider?: string | undefined;
  endUser?: string | undefined;
  status?: AccountStatus | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
  /** An account-bound token sees only its own account. */
  onlyId?: string | undefined;
}

const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^acc_[A-Za-z0-9]+$/.test(id)) fail(ErrorCode.invalidRequest, 'cursor is not one this API gave out');
  return id;
}

/** One page of the app's accounts; `next_cursor` is null on the last page. */
export async function listAccounts(
  services: Services,
  appId: string,
  input: ListAccountsInput,
): Promise<{ data: AccountView[]; next_cursor: string | null }> {
  const limit = Math.min(Math.max(input.limit ?? 50, 1), PAGE_SIZE_MAX);
  const rows = await listAccountRows(services.db, appId, {
    provider: input.provider,
    endUserId: input.endUser,
    status: input.status,
    id: input.onlyId,
    after: input.cursor ? decodeCursor(input.cursor) : undefined,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  return {
    data: page.map(toAccountView),
    next_cursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null,
  };
}

/** The app's account, or not_found: another app's account is indistinguishable from none. */
export async function getAccount(services: Services, appId: string, id: string): Promise<AccountView> {
  const row = (await findAccount(services.db, appId, id)) ?? fail(ErrorCode.notFound, 'no such account');
  return toAccountView(row);
}

/** Merges the app's metadata: a key set to null is removed. */
export async function updateAccountMetadata(
  services: Services,
  appId: string,
  id: string,
  changes: Record<string, unknown>,
): Promise<AccountView> {
  const row = (await findAccount(services.db, appId, id)) ?? fail(ErrorCode.notFound, 'no such account');
  const metadata: Record<string, unknown> = fromJson(row.metadata, {});
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete metadata[key];
    else metadata[key] = value;
  }
  const text = toJson(metadata);
  if (Buffer.byteLength(text) > METADATA_MAX_BYTES) fail(ErrorCode.invalidRequest, `metadata must stay under ${METADATA_MAX_BYTES} bytes`);
  const updated = await updateAccount(services.db, appId, id, { metadata: text, updated_at: services.clock() });
  return toAccountView(updated ?? fail(ErrorCode.notFound, 'no such account'));
}

/**
 * Releases an account: revokes the grant upstream where the provider allows it, then wipes the
 * sealed tokens whatever the upstream said. The outcome upstream is reported, not hidden.
 */
export async function releaseAccount(
  services: Services,
  appId: string,
  id: string,
): Promise<{ account: AccountView; upstream_revocation: UpstreamRevocation }> {
  const row = (await findAccount(services.db, appId, id)) ?? fail(ErrorCode.notFound, 'no such account');
  const tokens = await findTokens(services.db, row.id);
  const revocation = await revokeUpstream(services, row, tokens);
  const now = services.clock();
  // a second release of a released account changes nothing: no second event
  const wiped = await wipeAccountTokens(services.db, appId, row.id, now, async (trx, revoked) => {
    if (row.status !== 'revoked') await emitAccountEvent(trx, 'account.revoked', revoked, now, { upstream_revocation: revocation });
  });
  await recordAudit(services.db, {
    id: newId('aud'),
    appId,
    actor: `app:${appId}`,
    action: 'account.released',
    subject: row.id,
    detail: { provider: row.provider, upstream_revoked: revocation.revoked, method: revocation.method },
    at: now,
  });
  return { account: toAccountView(wiped ?? row), upstream_revocation: revocation };
}

/** The scopes granted upstream, each with the provider's description where the catalog has one. */
export async function accountScopes(
  services: Services,
  appId: string,
  id: string,
): Promise<{ provider: string; scopes: { scope: string; description: string | null }[] }> {
  const row = (await findAccount(services.db, appId, id)) ?? fail(ErrorCode.notFound, 'no such account');
  const descriptions = services.catalog.get(row.provider)?.scopes.descriptions ?? {};
  const scopes = row.scope
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((scope) => ({ scope, description: descriptions[scope] ?? null }));
  return { provider: row.provider, scopes };
}
