import { ErrorCode, fail } from '../errors.ts';
import type { Services } from '../services.ts';
import { deleteWebhookEndpoint, findApp, findWebhookEndpoint, recordAudit, saveWebhookEndpoint, type WebhookEndpointRow } from '../store/index.ts';
import { mintToken, newId, type Vault } from '../vault/index.ts';

export const WEBHOOK_URL_MAX = 2048;

/** The app's webhook as the API shows it: never the secret. */
export interface WebhookView {
  url: string | null;
  enabled: boolean;
  created_at: string | null;
  updated_at: string | null;
}

/** An https URL (http too in development, for local receivers), no credentials, no fragment. */
export function checkWebhookUrl(services: Pick<Services, 'config'>, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail(ErrorCode.invalidRequest, 'the webhook URL is not an absolute URL');
  }
  const insecureAllowed = services.config.mode === 'development';
  if (url.protocol !== 'https:' && !(insecureAllowed && url.protocol === 'http:')) {
    fail(ErrorCode.invalidRequest, insecureAllowed ? 'the webhook URL must be http(s)' : 'the webhook URL must be https');
  }
  if (url.username || url.password) fail(ErrorCode.invalidRequest, 'the webhook URL must not carry credentials');
  if (url.hash) fail(ErrorCode.invalidRequest, 'the webhook URL must not have a fragment');
  if (url.href.length > WEBHOOK_URL_MAX) fail(ErrorCode.invalidRequest, `the webhook URL must stay under ${WEBHOOK_URL_MAX} characters`);
  return url.href;
}

const view = (row: WebhookEndpointRow | undefined): WebhookView => ({
  url: row?.url ?? null,
  enabled: row !== undefined,
  created_at: row ? new Date(row.created_at).toISOString() : null,
  updated_at: row ? new Date(row.updated_at).toISOString() : null,
});

/**
 * Sets the app's webhook URL with a new signing secret, returned only now (it is kept sealed).
 * Setting it again replaces the secret: a receiver must take the new one.
 */
export async function setWebhook(services: Services, appId: string, rawUrl: string, actor = `app:${appId}`): Promise<{ url: string; secret: string }> {
  const url = checkWebhookUrl(services, rawUrl);
  const secret = mintToken('webhookSecret');
  const now = services.clock();
  await saveWebhookEndpoint(services.db, {
    app_id: appId,
    url,
    secret_sealed: services.vault.seal(secret, { table: 'webhook_endpoints', id: appId, field: 'secret' }),
    created_at: now,
    updated_at: now,
  });
  await recordAudit(services.db, { id: newId('aud'), appId, actor, action: 'webhook.set', subject: appId, detail: { url }, at: now });
  return { url, secret };
}

export async function getWebhook(services: Services, appId: string): Promise<WebhookView> {
  return view(await findWebhookEndpoint(services.db, appId));
}

/** Turns the app's webhook off; deliveries still waiting are given up. */
export async function disableWebhook(services: Services, appId: string, actor = `app:${appId}`): Promise<WebhookView> {
  const now = services.clock();
  await deleteWebhookEndpoint(services.db, appId, now);
  await recordAudit(services.db, { id: newId('aud'), appId, actor, action: 'webhook.disabled', subject: appId, at: now });
  return view(undefined);
}

/** The app named by client_id or name (for the CLI). */
export async function appIdOf(services: Services, idOrName: string): Promise<string> {
  const app = (await findApp(services.db, idOrName)) ?? fail(ErrorCode.notFound, `no app "${idOrName}"`);
  return app.id;
}

/** The endpoint's URL and opened secret, or undefined when the app has none. */
export async function webhookTarget(db: Services['db'], vault: Vault, appId: string): Promise<{ url: string; secret: string } | undefined> {
  const row = await findWebhookEndpoint(db, appId);
  if (!row) return undefined;
  return { url: row.url, secret: vault.open(row.secret_sealed, { table: 'webhook_endpoints', id: appId, field: 'secret' }) };
}
