export { setWebhook, getWebhook, disableWebhook, checkWebhookUrl, appIdOf, type WebhookView } from './endpoint.ts';
export { enqueueWebhookEvent, WEBHOOK_EVENTS, type WebhookEvent, type WebhookEventType } from './events.ts';
export {
  deliverDueWebhooks,
  retryDelay,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RETRY_DELAYS_MS,
  WEBHOOK_TIMEOUT_MS,
  WEBHOOK_LEASE_MS,
  type DeliverOptions,
} from './deliver.ts';
export { listDeliveries, type DeliveryView } from './deliveries.ts';
export { signPayload, signatureHeader, verifySignature, SIGNATURE_TOLERANCE_SECONDS } from './signature.ts';
export { startWebhookWorker, WEBHOOK_POLL_MS } from './worker.ts';
