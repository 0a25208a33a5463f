import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Account } from './accounts.ts';
import { codes, WebhookVerificationError, type Code } from './errors.ts';

export type WebhookEventType = 'account.connected' | 'account.reconnected' | 'account.refresh_failed' | 'account.recovered' | 'account.revoked';

/** A verified delivery's body. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType | (string & {});
  created_at: string;
  data: { account: Account; [key: string]: unknown };
}

/** Node's `req.headers`, a fetch `Headers`, or any record of header names to values. */
export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** The webhook secret Gatehouse showed when the webhook was set. */
  secret: string;
  /** How far the signature's timestamp may be from now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** Now, in epoch milliseconds (default `Date.now()`). */
  now?: number;
}

const fail = (code: Code, message: string): never => {
  throw new WebhookVerificationError(code, message);
};

function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value.join(',') : value;
}

/** `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` → the timestamp and every v1 signature. */
function parseSignature(value: string): { timestamp: number; signatures: string[] } {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const item = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(item)) timestamp = Number(item);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(item)) signatures.push(item);
  }
  if (timestamp === undefined || signatures.length === 0) fail(codes.WEBHOOK_MALFORMED, 'the Gatehouse-Signature header needs t=<seconds> and v1=<hex>');
  return { timestamp: timestamp!, signatures };
}

/**
 * Verifies a webhook delivery and returns its event: `Gatehouse-Signature: t=…,v1=…` where v1 is
 * hex HMAC-SHA256 (key: the secret as UTF-8) of `"<t>.<raw body>"`, compared in constant time,
 * and `t` within the tolerance of now. Pass the **raw** body (string or bytes) exactly as received:
 * re-serialized JSON does not verify.
 */
export function verifyWebhook(body: string | Uint8Array, headers: HeaderBag, options: VerifyOptions): WebhookEvent {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) fail(codes.WEBHOOK_MALFORMED, 'pass the raw request body (string or Buffer), not parsed JSON');
  if (!options.secret) fail(codes.WEBHOOK_MALFORMED, 'the webhook secret is required');
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const value = header(headers, 'gatehouse-signature') ?? fail(codes.WEBHOOK_MALFORMED, 'the Gatehouse-Signature header is missing');
  const { timestamp, signatures } = parseSignature(value!);

  const expected = createHmac('sha256', Buffer.from(options.secret, 'utf8')).update(`${timestamp}.`).update(raw).digest();
  const matches = signatures.some((hex) => timingSafeEqual(Buffer.from(hex, 'hex'), expected));
  if (!matches) fail(codes.WEBHOOK_BAD_SIGNATURE, 'the webhook signature does not match the body');
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs((options.now ?? Date.now()) / 1000 - timestamp) > tolerance) fail(codes.WEBHOOK_STALE, `the webhook was signed more than ${tolerance} s from now`);

  let event: WebhookEvent;
  try {
    event = JSON.parse(raw.toString('utf8')) as WebhookEvent;
  } catch {
    return fail(codes.WEBHOOK_MALFORMED, 'the webhook body is not JSON');
  }
  if (typeof event?.id !== 'string' || typeof event.type !== 'string') fail(codes.WEBHOOK_MALFORMED, 'the webhook body has no id or type');
  return event;
}
