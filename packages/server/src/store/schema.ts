import type { Generated } from 'kysely';

/** Timestamps are milliseconds since the epoch (bigint in PostgreSQL, integer in SQLite). */
export type Millis = number;
/** A JSON document kept in a text column (the same on both dialects). */
export type JsonText = string;

export interface AppsTable {
  id: string; // the client_id
  name: string;
  client_type: 'confidential' | 'public';
  redirect_uris: JsonText; // string[]
  allowed_scopes: JsonText; // string[]
  default_scopes: JsonText; // string[]
  trusted_origins: JsonText; // string[]
  created_at: Millis;
  /** 1: the API key may read upstream access tokens (GET /v1/accounts/:id/credentials). */
  allow_credentials: Generated<number>;
}

export interface AppSecretsTable {
  id: string;
  app_id: string;
  secret_hash: string;
  created_at: Millis;
  revoked_at: Millis | null;
}

export interface ApiKeysTable {
  id: string;
  app_id: string;
  key_hash: string;
  created_at: Millis;
  revoked_at: Millis | null;
}

export interface IntegrationsTable {
  id: string;
  app_id: string;
  provider: string;
  client_id: string;
  client_secret_sealed: string;
  scopes: JsonText | null; // string[]; null = the provider's defaults
  settings: JsonText; // { issuer?, params? }
  created_at: Millis;
  updated_at: Millis;
}

export type AccountStatus = 'active' | 'needs_reauth' | 'revoked';

export interface AccountsTable {
  id: string;
  app_id: string;
  provider: string;
  upstream_subject: string;
  end_user_id: string | null;
  name: string | null;
  email: string | null;
  status: AccountStatus;
  scope: string; // upstream scopes granted, space separated
  template_values: JsonText; // { subdomain?: … } the URLs of this account were built with
  metadata: JsonText; // the app's own key/values
  created_at: Millis;
  updated_at: Millis;
}

export interface AccountTokensTable {
  account_id: string;
  access_token_sealed: string | null;
  refresh_token_sealed: string | null;
  id_token_sealed: string | null;
  token_type: string;
  expires_at: Millis | null;
  version: number;
  updated_at: Millis;
  /** Consecutive transient refresh failures; 0 after a success or a reconnect. */
  refresh_failures: Generated<number>;
  /** No refresh attempt before this time (backoff after a transient failure). */
  refresh_retry_at: Millis | null;
  /** The last refresh failure, safe to show (no token). */
  refresh_error: string | null;
}

export interface ConnectFlowsTable {
  id: string; // SHA-256 of the upstream state
  app_id: string;
  provider: string;
  code_verifier_sealed: string;
  nonce: string | null;
  end_user_id: string | null;
  account_id: string | null; // reconnect this account
  template_values: JsonText;
  context: JsonText; // opaque to connect/: what the caller resumes with afterwards
  expires_at: Millis;
  created_at: Millis;
}

export interface ConnectSessionsTable {
  id: string; // SHA-256 of the ghs_ token
  app_id: string;
  end_user_id: string;
  end_user_email: string | null;
  end_user_name: string | null;
  allowed_providers: JsonText | null;
  expires_at: Millis;
  created_at: Millis;
}

export interface AuditLogTable {
  id: string;
  app_id: string | null;
  actor: string;
  action: string;
  subject: string | null;
  detail: JsonText;
  created_at: Millis;
}

export interface GrantsTable {
  id: string;
  app_id: string;
  account_id: string | null; // null: an app-wide grant (client credentials)
  end_user_id: string | null;
  scope: string;
  created_at: Millis;
  revoked_at: Millis | null;
}

export interface AccessTokensTable {
  id: string; // SHA-256 of the gha_ token
  app_id: string;
  grant_id: string | null;
  account_id: string | null;
  scope: string;
  expires_at: Millis;
  created_at: Millis;
}

export interface RefreshTokensTable {
  id: string; // SHA-256 of the ghr_ token
  app_id: string;
  grant_id: string;
  scope: string;
  expires_at: Millis;
  used_at: Millis | null; // rotated: a second use is reuse, and revokes the grant
  created_at: Millis;
}

export interface AuthorizationCodesTable {
  id: string; // SHA-256 of the code
  app_id: string;
  grant_id: string;
  redirect_uri: string;
  code_challenge: string | null;
  nonce: string | null;
  expires_at: Millis;
  used_at: Millis | null;
  created_at: Millis;
}

export interface AuthorizationRequestsTable {
  id: string; // SHA-256 of the request handle carried in the browser's URLs
  app_id: string;
  redirect_uri: string;
  state: string | null;
  code_challenge: string | null;
  scope: string;
  providers: JsonText; // string[]: the providers the end user may choose from
  end_user_id: string | null;
  login_hint: string | null;
  account_id: string | null; // reconnect this account
  connected_account_id: string | null; // set when the upstream sign-in completed
  browser_binding: string; // SHA-256 of the cookie that started the request
  expires_at: Millis;
  created_at: Millis;
}

/** The authenticator's mailbox (see authorization/relay.ts): id is the SHA-256 of the request id. */
export interface RelayResultsTable {
  id: string;
  app_id: string;
  origin: string;
  result_sealed: string;
  expires_at: Millis;
  created_at: Millis;
}

export interface WebhookEndpointsTable {
  app_id: string;
  url: string;
  secret_sealed: string;
  created_at: Millis;
  updated_at: Millis;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface WebhookDeliveriesTable {
  id: string; // whd_…, sent as Gatehouse-Delivery
  app_id: string;
  event_id: string; // evt_…, the body's id
  event_type: string;
  payload: string; // the exact JSON body sent (the account's API view: never a token)
  status: WebhookDeliveryStatus;
  attempts: Generated<number>;
  /** When the next attempt is due; while an attempt runs, the end of its lease. */
  next_attempt_at: Millis;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Millis | null;
  created_at: Millis;
}

export interface Database {
  apps: AppsTable;
  app_secrets: AppSecretsTable;
  api_keys: ApiKeysTable;
  integrations: IntegrationsTable;
  accounts: AccountsTable;
  account_tokens: AccountTokensTable;
  connect_flows: ConnectFlowsTable;
  connect_sessions: ConnectSessionsTable;
  audit_log: AuditLogTable;
  grants: GrantsTable;
  access_tokens: AccessTokensTable;
  refresh_tokens: RefreshTokensTable;
  authorization_codes: AuthorizationCodesTable;
  authorization_requests: AuthorizationRequestsTable;
  relay_results: RelayResultsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}
