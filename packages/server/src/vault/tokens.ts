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

/** A fresh 256-bit random value with its kind's prefix. */
export function mintToken(kind: TokenKind): string {
  return TOKEN_PREFIX[kind] + pooledRandom(32);
}

/** SHA-256 (hex) of a high-entropy value: what the store keeps instead of the value. */
export function hashToken(value: string): string {
  return hash('sha256', value, 'hex');
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
