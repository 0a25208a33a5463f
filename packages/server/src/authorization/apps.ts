import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import {
  deleteApp as deleteAppRow,
  findApp,
  fromJson,
  insertApp,
  listApps as listAppRows,
  recordAudit,
  toJson,
  updateApp as updateAppRow,
  type AppRow,
} from '../store/index.ts';
import { mintToken, newId, tokenKey } from '../vault/index.ts';
import { forgetCredentials } from './cache.ts';

export interface CreateAppInput {
  name: string;
  redirectUris: string[];
  /** Every scope the app may ask for. */
  scopes: string[];
  /** Asked for when a request names none; a subset of scopes (default: all of them). */
  defaultScopes?: string[] | undefined;
  trustedOrigins?: string[] | undefined;
  public?: boolean | undefined;
  /** The API key may read upstream access tokens (GET /v1/accounts/:id/credentials); default off. */
  allowCredentials?: boolean | undefined;
}

export interface AppView {
  id: string;
  name: string;
  clientType: 'confidential' | 'public';
  redirectUris: string[];
  scopes: string[];
  defaultScopes: string[];
  trustedOrigins: string[];
  allowCredentials: boolean;
  createdAt: number;
}

/** Returned once at creation: the only time the secret and key exist outside their hashes. */
export interface CreatedApp {
  app: AppView;
  clientSecret: string | null;
  apiKey: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An exact redirect URI: https, http on loopback, or a private-use scheme (RFC 8252); no fragment. */
export function checkRedirectUri(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail(ErrorCode.invalidRequest, `redirect URI "${raw}" is not an absolute URL`);
  }
  if (url.hash || raw.includes('#')) fail(ErrorCode.invalidRequest, `redirect URI "${raw}" must not have a fragment`);
  const scheme = url.protocol.slice(0, -1);
  const ok =
    scheme === 'https' ||
    (scheme === 'http' && LOOPBACK_HOSTS.has(url.hostname)) ||
    (scheme.includes('.') && !['javascript', 'data', 'file', 'vbscript'].includes(scheme));
  if (!ok) fail(ErrorCode.invalidRequest, `redirect URI "${raw}" must be https, http on localhost, or a reverse-domain app scheme`);
  return raw;
}

/** An origin allowed to receive the authenticator's result, e.g. https://app.example.com. */
export function checkOrigin(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail(ErrorCode.invalidRequest, `trusted origin "${raw}" is not an origin`);
  }
  if (url.origin === 'null' || url.origin !== raw.replace(/\/$/, '')) {
    fail(ErrorCode.invalidRequest, `trusted origin "${raw}" must be scheme://host[:port] only`);
  }
  return url.origin;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token

export function toAppView(row: AppRow): AppView {
  return {
    id: row.id,
    name: row.name,
    clientType: row.client_type,
    redirectUris: fromJson(row.redirect_uris, []),
    scopes: fromJson(row.allowed_scopes, []),
    defaultScopes: fromJson(row.default_scopes, []),
    trustedOrigins: fromJson(row.trusted_origins, []),
    allowCredentials: row.allow_credentials === 1,
    createdAt: row.created_at,
  };
}

/** Registers an app (Doorkeeper's `doorkeeper:create`): its secret and API key are stored hashed. */
export async function createApp(services: Services, input: CreateAppInput): Promise<CreatedApp> {
  const { db, clock } = services;
  const name = input.name.trim();
  if (!name || name.length > 100) fail(ErrorCode.invalidRequest, 'app name must be 1 to 100 characters');
  if (await findApp(db, name)) fail(ErrorCode.conflict, `an app named "${name}" exists already`);
  if (input.redirectUris.length === 0) fail(ErrorCode.invalidRequest, 'an app needs at least one redirect URI');
  const redirectUris = [...new Set(input.redirectUris.map(checkRedirectUri))];
  const scopes = [...new Set(input.scopes)];
  for (const scope of scopes) if (!SCOPE_TOKEN.test(scope)) fail(ErrorCode.invalidRequest, `"${scope}" is not a valid scope`);
  const defaultScopes = [...new Set(input.defaultScopes ?? scopes)];
  for (const scope of defaultScopes) {
    if (!scopes.includes(scope)) fail(ErrorCode.invalidRequest, `default scope "${scope}" is not among the app's scopes`);
  }
  const trustedOrigins = [...new Set((input.trustedOrigins ?? []).map(checkOrigin))];
  const id = newId('app', 16);
  const clientSecret = input.public ? null : mintToken('clientSecret');
  const apiKey = mintToken('apiKey');
  const now = clock();
  await insertApp(
    db,
    {
      id,
      name,
      client_type: input.public ? 'public' : 'confidential',
      redirect_uris: toJson(redirectUris),
      allowed_scopes: toJson(scopes),
      default_scopes: toJson(defaultScopes),
      trusted_origins: toJson(trustedOrigins),
      created_at: now,
      allow_credentials: input.allowCredentials ? 1 : 0,
    },
    clientSecret ? { id: newId('sec'), hash: tokenKey(clientSecret) } : null,
    { id: newId('key'), hash: tokenKey(apiKey) },
  );
  await recordAudit(db, { id: newId('aud'), appId: id, actor: 'operator', action: 'app.created', subject: id, at: now });
  const row = (await findApp(db, id))!;
  return { app: toAppView(row), clientSecret, apiKey };
}

export async function listApps(services: Services): Promise<AppView[]> {
  return (await listAppRows(services.db)).map(toAppView);
}

export interface UpdateAppInput {
  allowCredentials?: boolean | undefined;
}

/** Changes an app's switches (`gatehouse apps update`); each change is audited. */
export async function updateApp(services: Services, idOrName: string, input: UpdateAppInput): Promise<AppView> {
  const row = (await findApp(services.db, idOrName)) ?? fail(ErrorCode.notFound, `no app "${idOrName}"`);
  if (input.allowCredentials === undefined) return toAppView(row);
  await updateAppRow(services.db, row.id, { allow_credentials: input.allowCredentials ? 1 : 0 });
  forgetCredentials(services.db); // cached app views (API key, client authentication) carry the setting
  await recordAudit(services.db, {
    id: newId('aud'),
    appId: row.id,
    actor: 'operator',
    action: 'app.updated',
    subject: row.id,
    detail: { allow_credentials: input.allowCredentials },
    at: services.clock(),
  });
  return toAppView((await findApp(services.db, row.id))!);
}

/** Deletes an app and, by cascade, its integrations, accounts and tokens. */
export async function deleteApp(services: Services, idOrName: string): Promise<AppView> {
  const row = (await findApp(services.db, idOrName)) ?? fail(ErrorCode.notFound, `no app "${idOrName}"`);
  await deleteAppRow(services.db, row.id);
  forgetCredentials(services.db);
  await recordAudit(services.db, {
    id: newId('aud'),
    appId: null,
    actor: 'operator',
    action: 'app.deleted',
    subject: row.id,
    detail: { name: row.name },
    at: services.clock(),
  });
  return toAppView(row);
}
