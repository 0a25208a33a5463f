import { metricsFor } from '../metrics/index.ts';
import type { Services } from '../services.ts';
import { claimDueDeliveries, recordDeliveryAttempt, type AttemptOutcome, type WebhookDeliveryRow } from '../store/index.ts';
import { signatureHeader } from './signature.ts';
import { webhookTarget } from './endpoint.ts';

/** Attempts per delivery before it is given up (the first one included). */
export const WEBHOOK_MAX_ATTEMPTS = 5;
/** Waits after failed attempts 1…4 (±20% jitter): about an hour from the first try to the last. */
export const WEBHOOK_RETRY_DELAYS_MS = [60_000, 5 * 60_000, 15 * 60_000, 40 * 60_000];
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** A claimed delivery is not due again for this long (an instance that dies mid-send loses it then). */
export const WEBHOOK_LEASE_MS = 2 * 60_000;
export const WEBHOOK_BATCH = 20;

export interface DeliverOptions {
  batchSize?: number;
  timeoutMs?: number;
  random?: () => number;
}

/** The wait before the next attempt after `attempts` failed ones, jittered; null when none is left. */
export function retryDelay(attempts: number, random: () => number = Math.random): number | null {
  if (attempts >= WEBHOOK_MAX_ATTEMPTS) return null;
  const base = WEBHOOK_RETRY_DELAYS_MS[Math.min(attempts, WEBHOOK_RETRY_DELAYS_MS.length) - 1]!;
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** One POST of a delivery: no redirect followed, a time limit, any 2xx is success. */
async function send(url: string, secret: string, row: WebhookDeliveryRow, now: number, timeoutMs: number): Promise<{ ok: boolean; httpStatus: number | null; error: string | null }> {
  const timestamp = Math.floor(now / 1000);
  try {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Gatehouse-Webhooks/1',
        'gatehouse-signature': signatureHeader(secret, timestamp, row.payload),
        'gatehouse-event': row.event_type,
        'gatehouse-delivery': row.id,
      },
      body: row.payload,
    });
    await response.body?.cancel().catch(() => {});
    if (response.status >= 200 && response.status < 300) return { ok: true, httpStatus: response.status, error: null };
    const redirect = response.status >= 300 && response.status < 400;
    return { ok: false, httpStatus: response.status, error: redirect ? `redirects are not followed (HTTP ${response.status})` : `the receiver answered HTTP ${response.status}` };
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') return { ok: false, httpStatus: null, error: `no answer within ${timeoutMs} ms` };
    const code = (err as { cause?: { code?: unknown } }).cause?.code;
    return { ok: false, httpStatus: null, error: `the receiver could not be reached${typeof code === 'string' ? ` (${code})` : ''}` };
  }
}

/**
 * Claims the deliveries that are due and attempts each once; returns how many it attempted.
 * Safe to run in several instances on PostgreSQL (claims skip rows another instance holds).
 */
export async function deliverDueWebhooks(services: Services, options: DeliverOptions = {}): Promise<number> {
  const now = services.clock();
  const claimed = await claimDueDeliveries(services.db, {
    now,
    leaseUntil: now + WEBHOOK_LEASE_MS,
    limit: options.batchSize ?? WEBHOOK_BATCH,
    skipLocked: services.config.database.kind === 'postgres',
  });
  const metrics = metricsFor(services);
  await Promise.all(
    claimed.map(async (row) => {
      const target = await webhookTarget(services.db, services.vault, row.app_id);
      const result = target
        ? await send(target.url, target.secret, row, now, options.timeoutMs ?? WEBHOOK_TIMEOUT_MS)
        : { ok: false, httpStatus: null, error: 'the webhook was disabled' };
      const after = services.clock();
      const delay = result.ok || !target ? null : retryDelay(row.attempts, options.random);
      const outcome: AttemptOutcome = {
        status: result.ok ? 'delivered' : delay === null ? 'dead' : 'pending',
        httpStatus: result.httpStatus,
        error: result.error,
        nextAttemptAt: after + (delay ?? 0),
        now: after,
      };
      await recordDeliveryAttempt(services.db, row.id, outcome);
      metrics.webhookDeliveries.inc({ outcome: outcome.status === 'pending' ? 'retry' : outcome.status === 'dead' ? 'failed' : 'delivered' });
      if (!result.ok) {
        services.logger.info({ delivery: row.id, event: row.event_type, attempt: row.attempts, status: result.httpStatus, reason: result.error, outcome: outcome.status }, 'webhook delivery failed');
      }
    }),
  );
  return claimed.length;
}
