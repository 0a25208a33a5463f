import { freshAccessToken } from '../accounts/index.ts';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { findAccount, recordAudit } from '../store/index.ts';
import { newId } from '../vault/index.ts';

export interface Credentials {
  access_token: string;
  token_type: string;
  /** ISO time, or null when the provider gave no lifetime. */
  expires_at: string | null;
}

/**
 * The account's current upstream access token (refreshed first when it is about to expire), for
 * an app whose operator turned this on (`gatehouse apps update <app> --allow-credentials`).
 * Every read is written to the audit log as `account.credentials_read`.
 */
export async function readCredentials(services: Services, app: { id: string; allowCredentials: boolean }, accountId: string): Promise<Credentials> {
  if (!app.allowCredentials) {
    fail(ErrorCode.accessDenied, 'this app may not read upstream tokens; an operator can allow it with: gatehouse apps update <app> --allow-credentials');
  }
  const account = (await findAccount(services.db, app.id, accountId)) ?? fail(ErrorCode.notFound, 'no such account');
  const token = await freshAccessToken(services, app.id, accountId);
  await recordAudit(services.db, {
    id: newId('aud'),
    appId: app.id,
    actor: `app:${app.id}`,
    action: 'account.credentials_read',
    subject: account.id,
    detail: { provider: account.provider },
    at: services.clock(),
  });
  return {
    access_token: token.accessToken,
    token_type: token.tokenType,
    expires_at: token.expiresAt === null ? null : new Date(token.expiresAt).toISOString(),
  };
}
