import type { Services } from '../services.ts';
import { recordAudit } from '../store/index.ts';
import { newId } from '../vault/index.ts';
import { revokeGrant } from './tokens.ts';

/**
 * Signs an end user out of the app: every live grant for them — made with their connect session
 * or over an account they own — is revoked with all its tokens. The accounts and their sealed
 * upstream tokens stay, so the user's next sign-in works without reconnecting.
 */
export async function revokeEndUserTokens(services: Services, appId: string, endUserId: string): Promise<{ revoked_grants: number }> {
  const grants = await services.db
    .selectFrom('grants')
    .leftJoin('accounts', 'accounts.id', 'grants.account_id')
    .select('grants.id')
    .where('grants.app_id', '=', appId)
    .where('grants.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('grants.end_user_id', '=', endUserId), eb('accounts.end_user_id', '=', endUserId)]))
    .execute();
  const now = services.clock();
  for (const grant of grants) await revokeGrant(services.db, grant.id, now);
  await recordAudit(services.db, {
    id: newId('aud'),
    appId,
    actor: `app:${appId}`,
    action: 'end_user.tokens_revoked',
    subject: endUserId,
    detail: { grants: grants.length },
    at: now,
  });
  return { revoked_grants: grants.length };
}
