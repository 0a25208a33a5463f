import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefixes of the values Gatehouse mints; the prefix tells a leaked value's kind at a glance. */
export const TOKEN_PREFIX = {
  accessToken: 'gha_',
  refreshToken: 'ghr_',
  apiKey: 'ghk_',
  connectSession: 'ghs_',
  clientSecret: 'ghcs_',
  authorizationCode: 'ghac_',
  webhookSecret: 'ghwh_',
} as const;
export type TokenKind = keyof typeof TOKEN_PREFIX;

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/**
 * `size` bytes from the CSPRNG, taken from a 4 KiB buffer refilled with one randomBytes call (as
 * Node does for randomUUID): one getrandom per 128 tokens instead of one each. The bytes handed
 * out are zeroed in the pool, so it never holds a value that was already used.
 */
function pooledRandom(size: number): string {
  if (size > POOL_BYTES) return randomBytes(size).toString('base64url');
  if (poolOffset + size > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const chunk = pool.subarray(poolOffset, poolOffset + size);
  poolOffset += size;
  const value = chunk.toString('base64url');
  chunk.fill(0);
  return value;
}

/** Hex digits of the mint time (milliseconds since 1970) in a token: enough until the year 2527. */
const MINT_TIME_DIGITS = 11;
/** Base64url characters of a token's 256 random bits. */
const RANDOM_CHARS = 43;
const PREFIXES: ReadonlySet<string> = new Set(Object.values(TOKEN_PREFIX));

/**
 * A fresh token: its kind's prefix, the time it was minted (11 hex digits of milliseconds) and
 * 256 random bits in base64url, e.g. `gha_1a22e055134` + 43 characters. The time is not secret
 * and nothing relies on it but the store's order (see tokenKey).
 */
export function mintToken(kind: TokenKind): string {
  return TOKEN_PREFIX[kind] + Date.now().toString(16).padStart(MINT_TIME_DIGITS, '0') + pooledRandom(32);
}

/**
 * What the store keeps instead of a high-entropy value, and looks it up by: the SHA-256 (hex) of
 * the value, after the mint time for a token minted by mintToken. Rows keyed by tokens are thus
 * added at the end of their key's index. SHA-256 alone scattered each batch of new tokens over
 * the whole index, so every commit rewrote about a page per token (client_credentials cost 27%
 * more CPU per request on SQLite). A value of any other form (a token minted before tokens
 * carried their time, a state, a handle) is keyed by its SHA-256 alone, as it always was.
 */
export function tokenKey(value: string): string {
  const digest = hash('sha256', value, 'hex');
  const underscore = value.indexOf('_');
  if (underscore < 0 || value.length !== underscore + 1 + MINT_TIME_DIGITS + RANDOM_CHARS) return digest;
  if (!PREFIXES.has(value.slice(0, underscore + 1))) return digest;
  return value.slice(underscore + 1, underscore + 1 + MINT_TIME_DIGITS) + digest;
}

/** Constant-time comparison of two strings (false on different lengths). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A public, unguessable identifier such as `acc_…` or `app_…`. */
export function newId(prefix: string, bytes = 12): string {
  return `${prefix}_${pooledRandom(bytes).replace(/[-_]/g, 'x')}`;
}

/** An opaque random value for state, nonce or a PKCE verifier. */
export function randomValue(bytes = 32): string {
  return pooledRandom(bytes);
}
