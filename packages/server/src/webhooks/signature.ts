import { createHmac } from 'node:crypto';
import { safeEqual } from '../vault/index.ts';

/** How far a receiver lets a signature's timestamp be from its own clock. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Lowercase hex HMAC-SHA256 of `<t>.<body>` keyed with the webhook secret (its UTF-8 bytes). */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/** The `Gatehouse-Signature` header: `t=<unix seconds>,v1=<hex>`. */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signPayload(secret, timestamp, body)}`;
}

/**
 * Checks a `Gatehouse-Signature` header the way a receiver should: a v1 value matching the raw
 * body, and a timestamp within the tolerance of `nowSeconds`.
 */
export function verifySignature(secret: string, header: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const parts = header.split(',').map((part) => part.trim().split('=', 2) as [string, string | undefined]);
  const t = Number(parts.find(([key]) => key === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > SIGNATURE_TOLERANCE_SECONDS) return false;
  const expected = signPayload(secret, t, body);
  return parts.some(([key, value]) => key === 'v1' && value !== undefined && safeEqual(value, expected));
}
