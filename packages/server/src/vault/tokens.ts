import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

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

/** A fresh 256-bit random value with its kind's prefix. */
export function mintToken(kind: TokenKind): string {
  return TOKEN_PREFIX[kind] + randomBytes(32).toString('base64url');
}

/** SHA-256 (hex) of a high-entropy value: what the store keeps instead of the value. */
export function hashToken(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time comparison of two strings (false on different lengths). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A public, unguessable identifier such as `acc_…` or `app_…`. */
export function newId(prefix: string, bytes = 12): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url').replace(/[-_]/g, 'x')}`;
}

/** An opaque random value for state, nonce or a PKCE verifier. */
export function randomValue(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
