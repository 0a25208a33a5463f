import { ISSUER_FROM_INTEGRATION, type ProviderEntry } from '../catalog/index.ts';
import { fail, ErrorCode } from '../errors.ts';
import type { Services } from '../services.ts';
import { findApp, findIntegration, fromJson, listIntegrations, recordAudit, toJson, upsertIntegration, type IntegrationRow } from '../store/index.ts';
import { newId } from '../vault/index.ts';

export interface IntegrationSettings {
  issuer?: string;
  /** Values for the entry's templateParams shared by every connection (e.g. a tenant). */
  params?: Record<string, string>;
}

export interface SetIntegrationInput {
  app: string;
  provider: string;
  clientId: string;
  clientSecret: string;
  scopes?: string[] | undefined;
  issuer?: string | undefined;
  params?: Record<string, string> | undefined;
}

export interface IntegrationView {
  appId: string;
  provider: string;
  clientId: string;
  scopes: string[];
  settings: IntegrationSettings;
  updatedAt: number;
}

const SEAL_FIELD = 'client_secret';

function checkIssuer(entry: ProviderEntry, issuer: string | undefined, allowInsecure: boolean): void {
  if (entry.issuer !== ISSUER_FROM_INTEGRATION) {
    if (issuer) fail(ErrorCode.invalidRequest, `provider "${entry.id}" has a fixed issuer; --issuer is only for the generic oidc entry`);
    return;
  }
  if (!issuer) fail(ErrorCode.invalidRequest, `provider "${entry.id}" needs --issuer <url>`);
  let url: URL;
  try {
    url = new URL(issuer!);
  } catch {
    return fail(ErrorCode.invalidRequest, 'issuer must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:')) {
    fail(ErrorCode.invalidRequest, 'issuer must use https');
  }
}

/** Creates or replaces an app's credentials at one provider; the client secret is sealed. */
export async function setIntegration(services: Services, input: SetIntegrationInput): Promise<IntegrationView> {
  const { db, vault, catalog, clock, config } = services;
  const app = (await findApp(db, input.app)) ?? fail(ErrorCode.notFound, `no app "${input.app}"`);
  const entry = catalog.get(input.provider) ?? fail(ErrorCode.notFound, `no provider "${input.provider}" in the catalog`);
  if (!input.clientId.trim()) fail(ErrorCode.invalidRequest, 'client id must not be empty');
  if (!input.clientSecret) fail(ErrorCode.invalidRequest, 'client secret must not be empty');
  checkIssuer(entry, input.issuer, config.allowInsecureUpstreams);
  const declared = new Set(entry.templateParams ?? []);
  for (const name of Object.keys(input.params ?? {})) {
    if (!declared.has(name)) fail(ErrorCode.invalidRequest, `provider "${entry.id}" has no template parameter "${name}"`);
  }
  const existing = await findIntegration(db, app.id, entry.id);
  const id = existing?.id ?? newId('int');
  const now = clock();
  const settings: IntegrationSettings = {};
  if (input.issuer) settings.issuer = input.issuer.replace(/\/+$/, '');
  if (input.params && Object.keys(input.params).length > 0) settings.params = input.params;
  const row = await upsertIntegration(db, {
    id,
    app_id: app.id,
    provider: entry.id,
    client_id: input.clientId.trim(),
    client_secret_sealed: vault.seal(input.clientSecret, { table: 'integrations', id, field: SEAL_FIELD }),
    scopes: input.scopes ? toJson(input.scopes) : null,
    settings: toJson(settings),
    created_at: now,
    updated_at: now,
  });
  // never the secret; the client id and scopes say what changed
  await recordAudit(db, {
    id: newId('aud'),
    appId: app.id,
    actor: 'operator',
    action: existing ? 'integration.updated' : 'integration.created',
    subject: id,
    detail: { provider: entry.id, client_id: row.client_id, scopes: input.scopes ?? null },
    at: now,
  });
  return toView(row, entry);
}

export function toView(row: IntegrationRow, entry: ProviderEntry | undefined): IntegrationView {
  return {
    appId: row.app_id,
    provider: row.provider,
    clientId: row.client_id,
    scopes: fromJson<string[] | null>(row.scopes, null) ?? entry?.scopes.default ?? [],
    settings: fromJson<IntegrationSettings>(row.settings, {}),
    updatedAt: row.updated_at,
  };
}

export async function listAppIntegrations(services: Services, app: string): Promise<IntegrationView[]> {
  const found = (await findApp(services.db, app)) ?? fail(ErrorCode.notFound, `no app "${app}"`);
  const rows = await listIntegrations(services.db, found.id);
  return rows.map((row) => toView(row, services.catalog.get(row.provider)));
}

/** The integration's client secret, opened from the vault. */
export function openClientSecret(services: Pick<Services, 'vault'>, row: IntegrationRow): string {
  return services.vault.open(row.client_secret_sealed, { table: 'integrations', id: row.id, field: SEAL_FIELD });
}
