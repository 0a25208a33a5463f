import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { fromJson, toJson } from '../store/index.ts';
import { mintToken, tokenKey } from '../vault/index.ts';

export const CONNECT_SESSION_TTL_MS = 30 * 60 * 1000;

export interface EndUser {
  id: string;
  email?: string | undefined;
  name?: string | undefined;
}

/**
 * A short-lived `ghs_` token the app's backend creates for one end user; the browser carries it
 * so the account it connects lands on that end user and nobody else can choose whom.
 */
export async function createConnectSession(
  services: Services,
  appId: string,
  input: { endUser: EndUser; allowedProviders?: string[] | undefined },
): Promise<{ token: string; expiresAt: number }> {
  for (const provider of input.allowedProviders ?? []) {
    if (!services.catalog.get(provider)) fail(ErrorCode.invalidRequest, `no provider "${provider}" in the catalog`);
  }
  const token = mintToken('connectSession');
  const now = services.clock();
  const expiresAt = now + CONNECT_SESSION_TTL_MS;
  await services.db
    .insertInto('connect_sessions')
    .values({
      id: tokenKey(token),
      app_id: appId,
      end_user_id: input.endUser.id,
      end_user_email: input.endUser.email ?? null,
      end_user_name: input.endUser.name ?? null,
      allowed_providers: input.allowedProviders ? toJson(input.allowedProviders) : null,
      expires_at: expiresAt,
      created_at: now,
    })
    .execute();
  return { token, expiresAt };
}

/** A live connect session of this app: its end user and the providers it allows (null: any). */
export async function readConnectSession(
  services: Services,
  appId: string,
  token: string,
): Promise<{ endUserId: string; allowedProviders: string[] | null }> {
  const row = await services.db
    .selectFrom('connect_sessions')
    .selectAll()
    .where('id', '=', tokenKey(token))
    .executeTakeFirst();
  if (!row || row.app_id !== appId || row.expires_at <= services.clock()) {
    return fail(ErrorCode.invalidRequest, 'the connect session is unknown or expired; ask the app to start again');
  }
  return { endUserId: row.end_user_id, allowedProviders: fromJson<string[] | null>(row.allowed_providers, null) };
}

/** The end user a live session of this app names, checked against the provider being connected. */
export async function endUserOfSession(services: Services, appId: string, token: string, provider: string): Promise<string> {
  const session = await readConnectSession(services, appId, token);
  if (session.allowedProviders && !session.allowedProviders.includes(provider)) {
    fail(ErrorCode.accessDenied, `this connect session does not allow "${provider}"`);
  }
  return session.endUserId;
}
