import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { groupCommitted, type AccessTokensTable, type Db } from '../store/index.ts';
import { mintToken, newId, tokenKey } from '../vault/index.ts';
import type { AppView } from './apps.ts';
import { credentialCache, forgetCredentials } from './cache.ts';
import { grantableScope, splitScope } from './scopes.ts';

export const ACCESS_TOKEN_TTL_S = 3600;
export const REFRESH_TOKEN_TTL_S = 30 * 24 * 3600;

/** RFC 6749 §5.1 successful response, plus Koala's `account` and `created_at`. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
  created_at: number;
  account?: { id: string; provider: string; name: string | null; email: string | null };
}

/**
 * Mints an access token (and a refresh token when asked) under a grant; only hashes are stored.
 * Access tokens are written with group commit: committed before this returns, but together with
 * the other tokens minted in the same turn of the event loop.
 */
export async function issueTokens(
  db: Db,
  now: number,
  input: { appId: string; grantId: string | null; accountId: string | null; scope: string[]; withRefresh: boolean },
): Promise<{ accessToken: string; refreshToken: string | undefined; expiresIn: number }> {
  const accessToken = mintToken('accessToken');
  await groupCommitted(db, 'access_tokens')({
      id: tokenKey(accessToken),
      app_id: input.appId,
      grant_id: input.grantId,
      account_id: input.accountId,
      scope: input.scope.join(' '),
      expires_at: now + ACCESS_TOKEN_TTL_S * 1000,
      created_at: now,
    });
  let refreshToken: string | undefined;
  if (input.withRefresh && input.grantId) {
    refreshToken = mintToken('refreshToken');
    await db
      .insertInto('refresh_tokens')
      .values({
        id: tokenKey(refreshToken),
        app_id: input.appId,
        grant_id: input.grantId,
        scope: input.scope.join(' '),
        expires_at: now + REFRESH_TOKEN_TTL_S * 1000,
        used_at: null,
        created_at: now,
      })
      .execute();
  }
  return { accessToken, refreshToken, expiresIn: ACCESS_TOKEN_TTL_S };
}

/** RFC 6749 §4.4: an app-wide token for a confidential app, no refresh token. */
export async function clientCredentialsGrant(services: Services, app: AppView, requestedScope: string | undefined): Promise<TokenResponse> {
  if (app.clientType !== 'confidential') fail(ErrorCode.unauthorizedClient, 'client_credentials is for confidential apps only');
  const scope = grantableScope(app, requestedScope).filter((s) => s !== 'offline_access');
  const now = services.clock();
  const { accessToken, expiresIn } = await issueTokens(services.db, now, {
    appId: app.id,
    grantId: null,
    accountId: null,
    scope,
    withRefresh: false,
  });
  return { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, scope: scope.join(' '), created_at: Math.floor(now / 1000) };
}

export type AccessTokenFacts = Readonly<AccessTokensTable & { scopes: readonly string[] }>;

const accessTokens = (services: Pick<Services, 'db'>) => credentialCache<AccessTokenFacts>(services.db, 'accessTokens');
const live = (facts: AccessTokenFacts, now: number) => (facts.expires_at > now ? facts : undefined);

/** findAccessToken's answer for a token it found within the cache's lifetime: no database read, no promise. */
export function rememberedAccessToken(services: Pick<Services, 'db' | 'clock'>, token: string): AccessTokenFacts | undefined {
  if (!token.startsWith('gha_')) return undefined;
  const facts = accessTokens(services).get(tokenKey(token));
  return facts && live(facts, services.clock());
}

/** An access token's facts as stored (live or not), read from the database by its key. */
export async function readAccessToken(db: Db, id: string): Promise<AccessTokenFacts | undefined> {
  const row = await db.selectFrom('access_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return row && Object.freeze({ ...row, scopes: Object.freeze(splitScope(row.scope)) });
}

/**
 * A live access token's facts, or undefined. Found tokens are cached for CREDENTIAL_CACHE_TTL_MS
 * (revocations in this process clear the cache at once); expiry is checked on every call.
 */
export async function findAccessToken(services: Pick<Services, 'db' | 'clock'>, token: string): Promise<AccessTokenFacts | undefined> {
  if (!token.startsWith('gha_')) return undefined;
  const id = tokenKey(token);
  const cache = accessTokens(services);
  let facts = cache.get(id);
  if (!facts) {
    const generation = cache.generation;
    facts = await readAccessToken(services.db, id);
    if (!facts) return undefined;
    cache.set(id, facts, generation, () => readAccessToken(services.db, id));
  }
  return live(facts, services.clock());
}

/** RFC 7662 §2.2: an introspection answer. */
export interface Introspection {
  active: boolean;
  token_type?: 'Bearer' | 'refresh_token';
  client_id?: string;
  scope?: string;
  exp?: number;
  iat?: number;
  /** The account the token is bound to (also as account_id). */
  sub?: string;
  account_id?: string;
}

/** RFC 7662: facts about a token the asking client owns; anything else is just `active: false`. */
export async function introspect(services: Services, app: AppView, token: string): Promise<Introspection> {
  const now = services.clock();
  if (token.startsWith('ghr_')) {
    const row = await services.db.selectFrom('refresh_tokens').selectAll().where('id', '=', tokenKey(token)).executeTakeFirst();
    if (!row || row.app_id !== app.id || row.used_at !== null || row.expires_at <= now) return { active: false };
    const grant = await services.db.selectFrom('grants').selectAll().where('id', '=', row.grant_id).executeTakeFirst();
    if (!grant || grant.revoked_at !== null) return { active: false };
    return {
      active: true,
      token_type: 'refresh_token',
      client_id: app.id,
      scope: row.scope,
      exp: Math.floor(row.expires_at / 1000),
      iat: Math.floor(row.created_at / 1000),
      ...(grant.account_id ? { sub: grant.account_id, account_id: grant.account_id } : {}),
    };
  }
  return accessTokenIntrospection(app, await findAccessToken(services, token));
}

/** introspect's answer for an access token found within the cache's lifetime: no database read, no promise. */
export function rememberedIntrospection(services: Pick<Services, 'db' | 'clock'>, app: AppView, token: string): Introspection | undefined {
  const facts = rememberedAccessToken(services, token);
  return facts && accessTokenIntrospection(app, facts);
}

function accessTokenIntrospection(app: AppView, facts: AccessTokenFacts | undefined): Introspection {
  if (!facts || facts.app_id !== app.id) return { active: false };
  return {
    active: true,
    token_type: 'Bearer',
    client_id: app.id,
    scope: facts.scope,
    exp: Math.floor(facts.expires_at / 1000),
    iat: Math.floor(facts.created_at / 1000),
    ...(facts.account_id ? { sub: facts.account_id, account_id: facts.account_id } : {}),
  };
}

/** Ends a grant: its refresh tokens, access tokens and codes stop working at once. */
export async function revokeGrant(db: Db, grantId: string, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('grants').set({ revoked_at: now }).where('id', '=', grantId).where('revoked_at', 'is', null).execute();
    await trx.deleteFrom('access_tokens').where('grant_id', '=', grantId).execute();
    await trx.deleteFrom('refresh_tokens').where('grant_id', '=', grantId).execute();
    await trx.deleteFrom('authorization_codes').where('grant_id', '=', grantId).execute();
  });
  forgetCredentials(db);
}

/**
 * RFC 7009: revokes a token of the asking client. A refresh token ends its whole grant. An
 * unknown token, or another client's, is silently ignored (the answer is 200 either way).
 */
export async function revokeToken(services: Services, app: AppView, token: string): Promise<void> {
  const id = tokenKey(token);
  const now = services.clock();
  if (token.startsWith('ghr_')) {
    const row = await services.db.selectFrom('refresh_tokens').select(['app_id', 'grant_id']).where('id', '=', id).executeTakeFirst();
    if (row && row.app_id === app.id) await revokeGrant(services.db, row.grant_id, now);
  } else if (token.startsWith('gha_')) {
    await services.db.deleteFrom('access_tokens').where('id', '=', id).where('app_id', '=', app.id).execute();
    forgetCredentials(services.db);
  } else {
    return;
  }
  await services.db
    .insertInto('audit_log')
    .values({ id: newId('aud'), app_id: app.id, actor: `app:${app.id}`, action: 'token.revoked', subject: null, detail: '{}', created_at: now })
    .execute();
}
