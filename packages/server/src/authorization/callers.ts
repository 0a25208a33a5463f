import type { Services } from '../services.ts';
import { findAppById, type Db } from '../store/index.ts';
import { tokenKey } from '../vault/index.ts';
import { appForApiKey, readAppForApiKey, toAppView, type AppView } from './apps.ts';
import { credentialCache } from './cache.ts';
import { findAccessToken, readAccessToken, type AccessTokenFacts } from './tokens.ts';

/** Who is calling the API: an app by its API key (every right), or by a Gatehouse access token. */
export interface ApiCaller {
  app: AppView;
  /** null for the API key. */
  rights: ReadonlySet<string> | null;
  /** The one account an account-bound token reaches; null reaches every account of the app. */
  accountId: string | null;
  /** When an access token stops working (ms); null for an API key. */
  expiresAt: number | null;
}

const callers = (services: Pick<Services, 'db'>) => credentialCache<ApiCaller>(services.db, 'apiCallers');

/**
 * apiCaller's answer for a credential it found within CREDENTIAL_CACHE_TTL_MS, without a database
 * read or a turn of the event loop; expiry is checked on every call. Cleared with the other
 * credential caches by every revocation, app change or deletion in this process.
 */
export function rememberedApiCaller(services: Pick<Services, 'db' | 'clock'>, credential: string): ApiCaller | undefined {
  const caller = callers(services).get(tokenKey(credential));
  return caller && (caller.expiresAt === null || caller.expiresAt > services.clock()) ? caller : undefined;
}

/**
 * The app (and rights) behind an API key (`ghk_…`) or a live Gatehouse access token (`gha_…`), or
 * undefined, looked up (through the key and token caches) and remembered for rememberedApiCaller,
 * which callers try first.
 */
export async function apiCaller(services: Pick<Services, 'db' | 'clock'>, credential: string): Promise<ApiCaller | undefined> {
  const cache = callers(services);
  const generation = cache.generation;
  const isToken = credential.startsWith('gha_');
  let caller: ApiCaller | undefined;
  if (isToken) {
    const token = await findAccessToken(services, credential);
    const app = token && (await findAppById(services.db, token.app_id));
    if (token && app) caller = tokenCaller(token, toAppView(app));
  } else {
    const app = await appForApiKey(services, credential);
    if (app) caller = keyCaller(app);
  }
  if (!caller) return undefined;
  const key = tokenKey(credential);
  // read again from the database itself, not through the key and token caches (each up to 1 s old)
  cache.set(key, caller, generation, isToken ? () => readTokenCaller(services.db, key) : () => readKeyCaller(services.db, key));
  return caller;
}

const keyCaller = (app: AppView): ApiCaller => ({ app, rights: null, accountId: null, expiresAt: null });
const tokenCaller = (token: AccessTokenFacts, app: AppView): ApiCaller => ({ app, rights: new Set(token.scopes), accountId: token.account_id, expiresAt: token.expires_at });

async function readKeyCaller(db: Db, keyHash: string): Promise<ApiCaller | undefined> {
  const app = await readAppForApiKey(db, keyHash);
  return app && keyCaller(app);
}

async function readTokenCaller(db: Db, id: string): Promise<ApiCaller | undefined> {
  const token = await readAccessToken(db, id);
  const app = token && (await findAppById(db, token.app_id));
  return token && app ? tokenCaller(token, toAppView(app)) : undefined;
}
