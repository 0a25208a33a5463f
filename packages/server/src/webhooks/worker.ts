import { startLoop, type Loop } from '../loop.ts';
import type { Services } from '../services.ts';
import { deliverDueWebhooks, WEBHOOK_BATCH, type DeliverOptions } from './deliver.ts';

/** How often an idle worker looks for due deliveries (one indexed query). */
export const WEBHOOK_POLL_MS = 1000;

/** Sends due webhook deliveries in the background until stopped; each instance may run one. */
export function startWebhookWorker(services: Services, options: DeliverOptions & { pollMs?: number } = {}): Loop {
  const batchSize = options.batchSize ?? WEBHOOK_BATCH;
  return startLoop({ name: 'webhooks', intervalMs: options.pollMs ?? WEBHOOK_POLL_MS, jitter: 0.2, logger: services.logger }, async () => {
    const attempted = await deliverDueWebhooks(services, { ...options, batchSize });
    return attempted === batchSize;
  });
}
