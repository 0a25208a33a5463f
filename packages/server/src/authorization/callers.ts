import type { Services } from '../services.ts';
import { findAppByApiKeyHash, findAppById, type Db } from '../store/index.ts';
import { tokenKey } from '../vault/index.ts';
import { toAppView, type AppView } from './apps.ts';
import { credentialCache } from './cache.ts';
import { readAccessToken } from './tokens.ts';

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
  return caller && live(caller, services.clock());
}

/**
 * The app (and rights) behind an API key (`ghk_…`) or a live Gatehouse access token (`gha_…`), or
 * undefined, read from the database and remembered for rememberedApiCaller, which callers try
 * first (an entry in use is read again the same way before its time is up).
 */
export async function apiCaller(services: Pick<Services, 'db' | 'clock'>, credential: string): Promise<ApiCaller | undefined> {
  const read = credential.startsWith('gha_') ? readTokenCaller : credential.startsWith('ghk_') ? readKeyCaller : undefined;
  if (!read) return undefined;
  const cache = callers(services);
  const key = tokenKey(credential);
  const known = cache.get(key); // remembered but expired: refused without a read
  if (known) return live(known, services.clock());
  const generation = cache.generation;
  const caller = await read(services.db, key);
  if (!caller) return undefined;
  cache.set(key, caller, generation, () => read(services.db, key));
  return live(caller, services.clock());
}

const live = (caller: ApiCaller, now: number) => (caller.expiresAt === null || caller.expiresAt > now ? caller : undefined);

/** The caller behind an API key, by the key's hash. */
async function readKeyCaller(db: Db, keyHash: string): Promise<ApiCaller | undefined> {
  const row = await findAppByApiKeyHash(db, keyHash);
  return row && { app: toAppView(row), rights: null, accountId: null, expiresAt: null };
}

/** The caller behind an access token (live or not: expiry is checked on use), by its key. */
async function readTokenCaller(db: Db, id: string): Promise<ApiCaller | undefined> {
  const token = await readAccessToken(db, id);
  const app = token && (await findAppById(db, token.app_id));
  return token && app ? { app: toAppView(app), rights: new Set(token.scopes), accountId: token.account_id, expiresAt: token.expires_at } : undefined;
}
