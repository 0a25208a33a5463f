import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { findAppById } from '../store/index.ts';
import { tokenKey } from '../vault/index.ts';
import { toAppView, type AppView } from './apps.ts';

/**
 * The browser authenticator's relay. Its redirect URI is a Gatehouse page,
 * `<base>/sdk/relay?client_id=…&origin=…&rid=…`, that hands the authorization response to the
 * page that opened the popup with postMessage, aimed at exactly `origin` (one of the app's
 * trusted origins, checked here, never `*`). No app registers it: an app with trusted origins
 * may use it with any of them. The result is also left in a sealed, read-once mailbox for two
 * minutes, for the popups whose opener link a provider's Cross-Origin-Opener-Policy cut.
 */
export const RELAY_PATH = '/sdk/relay';
export const RELAY_RESULT_TTL_MS = 2 * 60 * 1000;
const REQUEST_ID = /^[A-Za-z0-9_-]{22,128}$/;
const RELAY_PARAMS = ['client_id', 'origin', 'rid'];
/** What the relay passes on: RFC 6749 §4.1.2 / §4.1.2.1 response parameters and RFC 9207 `iss`. */
const RESULT_PARAMS = ['code', 'state', 'iss', 'error', 'error_description'] as const;

export interface RelayTarget {
  clientId: string;
  origin: string;
  rid: string;
}

export type RelayResult = Partial<Record<(typeof RESULT_PARAMS)[number], string>>;

/** The relay redirect URI's parts, or undefined when `uri` is not exactly a relay URI of this server. */
export function parseRelayUri(baseUrl: string, uri: string): RelayTarget | undefined {
  const prefix = `${baseUrl}${RELAY_PATH}?`;
  if (!uri.startsWith(prefix) || uri.includes('#')) return undefined;
  const params = new URLSearchParams(uri.slice(prefix.length));
  const keys = [...params.keys()];
  if (keys.length !== RELAY_PARAMS.length || !RELAY_PARAMS.every((k) => params.getAll(k).length === 1)) return undefined;
  const target = { clientId: params.get('client_id')!, origin: params.get('origin')!, rid: params.get('rid')! };
  return REQUEST_ID.test(target.rid) ? target : undefined;
}

/** Whether `uri` is a relay URI this app may use: its own client_id and one of its trusted origins. */
export function relayUriFits(baseUrl: string, app: AppView, uri: string): boolean {
  const target = parseRelayUri(baseUrl, uri);
  return target !== undefined && target.clientId === app.id && app.trustedOrigins.includes(target.origin);
}

/** The app, when `origin` is one of its trusted origins (the CORS and postMessage check). */
export async function appTrusting(services: Services, clientId: string | undefined, origin: string | undefined): Promise<AppView | undefined> {
  if (!clientId || !origin) return undefined;
  const row = await findAppById(services.db, clientId);
  const app = row ? toAppView(row) : undefined;
  return app?.trustedOrigins.includes(origin) ? app : undefined;
}

/**
 * GET /sdk/relay: checks the target, keeps the result in the mailbox (the first write for a
 * request id wins) and returns where the page may post it.
 */
export async function acceptRelay(services: Services, query: Record<string, string | undefined>): Promise<{ target: RelayTarget; result: RelayResult }> {
  const { client_id: clientId, origin, rid } = query;
  const app = await appTrusting(services, clientId, origin);
  if (!app) return fail(ErrorCode.invalidRequest, 'this relay link does not name a trusted origin of the app');
  if (!rid || !REQUEST_ID.test(rid)) return fail(ErrorCode.invalidRequest, 'this relay link has no valid request id');
  const result: RelayResult = {};
  for (const key of RESULT_PARAMS) if (query[key] !== undefined) result[key] = query[key];
  if (result.state === undefined || (result.code === undefined && result.error === undefined)) {
    return fail(ErrorCode.invalidRequest, 'this relay link carries no authorization response');
  }
  const id = tokenKey(rid);
  const now = services.clock();
  await services.db
    .insertInto('relay_results')
    .values({
      id,
      app_id: app.id,
      origin: origin!,
      result_sealed: services.vault.seal(JSON.stringify(result), { table: 'relay_results', id, field: 'result' }),
      expires_at: now + RELAY_RESULT_TTL_MS,
      created_at: now,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return { target: { clientId: app.id, origin: origin!, rid }, result };
}

/** POST /sdk/relay/result: the mailbox's result for a request id, read once, by the origin it was meant for. */
export async function takeRelayResult(services: Services, clientId: string, rid: string, origin: string): Promise<RelayResult | undefined> {
  if (!REQUEST_ID.test(rid)) fail(ErrorCode.invalidRequest, 'rid is not a request id');
  const id = tokenKey(rid);
  const row = await services.db
    .deleteFrom('relay_results')
    .where('id', '=', id)
    .where('app_id', '=', clientId)
    .where('origin', '=', origin)
    .returningAll()
    .executeTakeFirst();
  if (!row || row.expires_at <= services.clock()) return undefined;
  return JSON.parse(services.vault.open(row.result_sealed, { table: 'relay_results', id, field: 'result' })) as RelayResult;
}
