import { hash } from 'node:crypto';
import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { findAppById, liveSecretHashes, type Db } from '../store/index.ts';
import { safeEqual, tokenKey } from '../vault/index.ts';
import { toAppView, type AppView } from './apps.ts';
import { credentialCache } from './cache.ts';

/** What a token-endpoint request presented to authenticate its client (RFC 6749 §2.3). */
export interface ClientCredentials {
  /** The Authorization header as sent: client_secret_basic when it is `Basic …`. */
  authorization: string | undefined;
  /** From the form body (client_secret_post, or client_id alone for a public client). */
  body: { clientId?: string | undefined; clientSecret?: string | undefined };
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** application/x-www-form-urlencoded decoding; most ids and secrets have nothing to decode. */
const formDecode = (value: string) => (value.includes('%') || value.includes('+') ? decodeURIComponent(value.replace(/\+/g, ' ')) : value);

/** Parses `Authorization: Basic base64(urlencoded id ":" urlencoded secret)` (RFC 6749 §2.3.1). */
export function parseBasic(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) fail(ErrorCode.invalidClient, 'malformed Basic credentials');
  try {
    return {
      clientId: formDecode(decoded.slice(0, colon)),
      clientSecret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    return fail(ErrorCode.invalidClient, 'malformed Basic credentials');
  }
}

interface PresentedClient {
  clientId: string;
  method: ClientAuthMethod;
  /** tokenKey of the secret, when one was presented. */
  presented: string | undefined;
  cacheKey: string;
}

/**
 * The request's one client authentication method, checked for what needs no database; `headerKey`
 * is the Basic header's cache key when already computed.
 */
function presentedClient(credentials: ClientCredentials, headerKey?: string): PresentedClient {
  const { authorization, body } = credentials;
  const basic = parseBasic(authorization);
  if (basic && body.clientSecret !== undefined) fail(ErrorCode.invalidRequest, 'use one client authentication method per request');
  if (basic && body.clientId !== undefined && body.clientId !== basic.clientId) {
    fail(ErrorCode.invalidRequest, 'client_id in the body does not match the Basic credentials');
  }
  const clientId = basic?.clientId ?? body.clientId;
  if (!clientId) return fail(ErrorCode.invalidClient, 'client authentication is required');
  const secret = basic?.clientSecret ?? body.clientSecret;
  const method: ClientAuthMethod = basic ? 'client_secret_basic' : secret !== undefined ? 'client_secret_post' : 'none';
  const presented = secret === undefined ? undefined : tokenKey(secret);
  return { clientId, method, presented, cacheKey: basic ? (headerKey ?? basicCacheKey(authorization!)) : `${clientId}\n${presented}` };
}

/**
 * Basic credentials are remembered by the SHA-256 of the header as sent, so that a client seen a
 * moment ago is recognised without decoding its header or hashing its secret apart. Only a header
 * that authenticated is ever stored under it (a post key always holds a newline, a digest never).
 */
const basicCacheKey = (authorization: string) => hash('sha256', authorization, 'hex');

const clients = (services: Pick<Services, 'db'>) => credentialCache<AppView>(services.db, 'clients');

type Authenticated = { app: AppView; method: ClientAuthMethod };

/**
 * The client the cache remembers for this request (see cache.ts), else what the request presents
 * (presentedClient), which authenticatePresented goes on with: a miss decodes and hashes once.
 */
function recall(services: Pick<Services, 'db'>, credentials: ClientCredentials): Authenticated | PresentedClient {
  const cache = clients(services);
  const { authorization, body } = credentials;
  // the usual client_secret_basic request: looked up by its header before anything is decoded
  const headerKey = authorization !== undefined && body.clientId === undefined && body.clientSecret === undefined ? basicCacheKey(authorization) : undefined;
  const byHeader = headerKey === undefined ? undefined : cache.get(headerKey);
  if (byHeader) return { app: byHeader, method: 'client_secret_basic' };
  const client = presentedClient(credentials, headerKey);
  // a header's key was looked up above; a client without a secret is never remembered
  const app = headerKey !== undefined || client.presented === undefined ? undefined : cache.get(client.cacheKey);
  return app ? { app, method: client.method } : client;
}

/**
 * Authenticates the client with exactly one method: a secret for confidential apps (compared by
 * hash, in constant time), none for public ones. Every failure is the same invalid_client. A
 * confidential client that authenticated with this very secret moments ago (see cache.ts) is
 * answered at once, without a database read or a promise, so a hot handler can go on
 * synchronously; anything else is looked up.
 */
export function authenticateClient(services: Pick<Services, 'db'>, credentials: ClientCredentials): Authenticated | Promise<Authenticated> {
  const recalled = recall(services, credentials);
  return 'app' in recalled ? recalled : authenticatePresented(services, recalled);
}

async function authenticatePresented(services: Pick<Services, 'db'>, { clientId, method, presented, cacheKey }: PresentedClient): Promise<Authenticated> {
  const cache = clients(services);
  const generation = cache.generation;
  const row = await findAppById(services.db, clientId);
  if (!row) return fail(ErrorCode.invalidClient, 'client authentication failed');
  if (row.client_type === 'public') {
    if (method !== 'none') fail(ErrorCode.invalidClient, 'a public client does not authenticate with a secret');
    return { app: toAppView(row), method };
  }
  if (presented === undefined) return fail(ErrorCode.invalidClient, 'client authentication is required');
  if (!(await secretIsLive(services.db, row.id, presented))) fail(ErrorCode.invalidClient, 'client authentication failed');
  const app = toAppView(row);
  cache.set(cacheKey, app, generation, () => confidentialClient(services, clientId, presented));
  return { app, method };
}

/** The confidential app `clientId` as stored, if one of its live secrets is still `presented`. */
async function confidentialClient(services: Pick<Services, 'db'>, clientId: string, presented: string): Promise<AppView | undefined> {
  const row = await findAppById(services.db, clientId);
  return row && row.client_type !== 'public' && (await secretIsLive(services.db, row.id, presented)) ? toAppView(row) : undefined;
}

/** Whether one of the app's live secrets has the presented hash (compared in constant time). */
async function secretIsLive(db: Db, appId: string, presented: string): Promise<boolean> {
  return (await liveSecretHashes(db, appId)).some((hash) => safeEqual(hash, presented));
}
