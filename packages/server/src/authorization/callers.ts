import type { Services } from '../services.ts';
import { findAppById } from '../store/index.ts';
import { tokenKey } from '../vault/index.ts';
import { appForApiKey, toAppView, type AppView } from './apps.ts';
import { credentialCache } from './cache.ts';
import { findAccessToken } from './tokens.ts';

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
  let caller: ApiCaller | undefined;
  if (credential.startsWith('gha_')) {
    const token = await findAccessToken(services, credential);
    const app = token && (await findAppById(services.db, token.app_id));
    if (token && app) caller = { app: toAppView(app), rights: new Set(token.scopes), accountId: token.account_id, expiresAt: token.expires_at };
  } else {
    const app = await appForApiKey(services, credential);
    if (app) caller = { app, rights: null, accountId: null, expiresAt: null };
  }
  if (caller) cache.set(tokenKey(credential), caller, generation);
  return caller;
}
