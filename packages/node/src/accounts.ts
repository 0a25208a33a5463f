import { apiRequest, bearer, throwResponseError, type Transport } from './http.ts';

/** An account as `GET /v1/accounts/:id` shows it (never a token). */
export interface Account {
  id: string;
  provider: string;
  status: 'active' | 'needs_reauth' | 'revoked';
  end_user_id: string | null;
  name: string | null;
  email: string | null;
  scope: string;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface AccountPage {
  data: Account[];
  next_cursor: string | null;
}

export interface ListAccountsOptions {
  provider?: string;
  endUser?: string;
  status?: Account['status'];
  cursor?: string;
  limit?: number;
}

export interface ImportAccountInput {
  provider: string;
  accessToken: string;
  refreshToken?: string;
  expiresIn?: number;
  scope?: string;
  endUserId?: string;
  templateValues?: Record<string, string>;
}

export interface Released {
  account: Account;
  upstream_revocation: { method: string; revoked: boolean; error?: string };
}

export interface AccountScopes {
  provider: string;
  scopes: { scope: string; description: string | null }[];
}

export interface ConnectSessionInput {
  endUser: { id: string; email?: string; name?: string };
  allowedProviders?: string[];
}

const path = (id: string, rest = '') => `/v1/accounts/${encodeURIComponent(id)}${rest}`;

/** The accounts API (`/v1/accounts…`) with one credential: the app's API key or an access token within its scope. */
export function accountsApi(transport: Transport, credential: () => string) {
  const list = (options: ListAccountsOptions = {}) =>
    apiRequest<AccountPage>(transport, credential(), 'GET', '/v1/accounts', {
      query: { provider: options.provider, end_user: options.endUser, status: options.status, cursor: options.cursor, limit: options.limit },
    });
  return {
    /** One page of the app's accounts; pass `next_cursor` back as `cursor` for the next. */
    list,
    /** Every account, page after page. */
    async *all(options: Omit<ListAccountsOptions, 'cursor'> = {}): AsyncGenerator<Account> {
      let cursor: string | undefined;
      do {
        const page = await list({ ...options, cursor });
        yield* page.data;
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    },
    get: (id: string) => apiRequest<Account>(transport, credential(), 'GET', path(id)),
    /** Merges `metadata` into the account's (a `null` value removes that key). */
    update: (id: string, metadata: Record<string, unknown>) => apiRequest<Account>(transport, credential(), 'PATCH', path(id), { body: { metadata } }),
    /** Revokes the account upstream and forgets its tokens; `upstream_revocation` says how that went. */
    release: (id: string) => apiRequest<Released>(transport, credential(), 'DELETE', path(id)),
    /** The upstream scopes granted, with their descriptions. */
    scopes: (id: string) => apiRequest<AccountScopes>(transport, credential(), 'GET', path(id, '/scopes')),
    /** Brings in a token set you already hold; Gatehouse reads the identity from the provider with it. */
    import: (input: ImportAccountInput) =>
      apiRequest<Account>(transport, credential(), 'POST', '/v1/accounts', {
        expected: [200, 201],
        body: {
          provider: input.provider,
          access_token: input.accessToken,
          refresh_token: input.refreshToken,
          expires_in: input.expiresIn,
          scope: input.scope,
          end_user_id: input.endUserId,
          template_values: input.templateValues,
        },
      }),
  };
}

export type AccountsApi = ReturnType<typeof accountsApi>;

/** Connect sessions: bind the next connection to one of your users. */
export function connectSessionsApi(transport: Transport, credential: () => string) {
  return {
    /** A `ghs_…` token (30 minutes) to pass as `sessionToken` / `session_token` when the user connects. */
    create: (input: ConnectSessionInput) =>
      apiRequest<{ token: string; expires_at: string }>(transport, credential(), 'POST', '/v1/connect/sessions', {
        expected: [201],
        body: { end_user: input.endUser, allowed_providers: input.allowedProviders },
      }),
  };
}

/** Whether an answer of the proxy comes from the provider: Gatehouse marks those `Via: 1.1 gatehouse`. */
const fromProvider = (response: Response): boolean => /(^|,)\s*[^,\s]+\s+gatehouse\b/i.test(response.headers.get('via') ?? '');

/**
 * Calls the provider's API as the account through Gatehouse's proxy (`ANY /v1/accounts/:id/proxy/*`):
 * `path` is appended to the provider's API base URL; Gatehouse adds the upstream credentials.
 * The provider's answer comes back as a plain Response, whatever its status; when Gatehouse itself
 * refuses (invalid token, missing `proxy` scope, unknown account, `needs_reauth`, provider
 * unreachable) this throws a ResponseBodyError instead.
 */
export async function proxyFetch(transport: Transport, accountId: string, credential: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', bearer(credential));
  const rest = path.replace(/^\/+/, '');
  // a streamed body needs half-duplex in Node's fetch
  const streamed = init.body instanceof ReadableStream || (typeof init.body === 'object' && init.body !== null && Symbol.asyncIterator in init.body);
  const response = await transport.fetch(`${transport.baseUrl}/v1/accounts/${encodeURIComponent(accountId)}/proxy/${rest}`, {
    ...init,
    headers,
    ...(streamed ? ({ duplex: 'half' } as RequestInit) : {}),
  });
  if (response.status >= 400 && !fromProvider(response)) await throwResponseError(response);
  return response;
}
