import { Type, type Static } from '@sinclair/typebox';
import { MAX_RETRIES, PROXY_METHODS } from '../proxy/index.ts';

export const ErrorSchema = Type.Object({ error: Type.String(), error_description: Type.String() }, { $id: 'Error' });

export const AccountSchema = Type.Object({
  id: Type.String(),
  provider: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('needs_reauth'), Type.Literal('revoked')]),
  end_user_id: Type.Union([Type.String(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  email: Type.Union([Type.String(), Type.Null()]),
  scope: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const AccountIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const ListAccountsQuery = Type.Object(
  {
    provider: Type.Optional(Type.String({ maxLength: 64 })),
    end_user: Type.Optional(Type.String({ maxLength: 256 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('needs_reauth'), Type.Literal('revoked')])),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);

export const AccountPageSchema = Type.Object({ data: Type.Array(AccountSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const PatchAccountBody = Type.Object(
  { metadata: Type.Record(Type.String({ maxLength: 100 }), Type.Unknown()) },
  { additionalProperties: false },
);

export const ImportAccountBody = Type.Object(
  {
    provider: Type.String({ minLength: 1, maxLength: 64 }),
    // sent upstream in an Authorization header: printable ASCII only (a NUL or a non-ASCII character
    // made the identity request throw, answered as a 503 "provider could not be reached")
    access_token: Type.String({ minLength: 1, maxLength: 8192, pattern: '^[\\x21-\\x7E]+$' }),
    refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
    expires_in: Type.Optional(Type.Integer({ minimum: 0 })),
    scope: Type.Optional(Type.String({ maxLength: 4096 })),
    end_user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    template_values: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 253 }))),
  },
  { additionalProperties: false },
);

export const RevocationSchema = Type.Object({
  method: Type.String(),
  revoked: Type.Boolean(),
  error: Type.Optional(Type.String()),
});

export const ScopesSchema = Type.Object({
  provider: Type.String(),
  scopes: Type.Array(Type.Object({ scope: Type.String(), description: Type.Union([Type.String(), Type.Null()]) })),
});

export const ConnectParams = Type.Object({ provider: Type.String({ minLength: 1, maxLength: 64 }) });
export const ConnectQuery = Type.Object({
  app: Type.String({ minLength: 1, maxLength: 64 }),
  session: Type.Optional(Type.String({ maxLength: 200 })),
  login_hint: Type.Optional(Type.String({ maxLength: 256 })),
  account_id: Type.Optional(Type.String({ maxLength: 64 })),
  subdomain: Type.Optional(Type.String({ maxLength: 253 })),
});

/** What a provider sends back to /connect/callback (RFC 6749 §4.1.2, RFC 9207); other parameters are let through. */
export const CallbackQuery = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 8192 })),
  state: Type.Optional(Type.String({ maxLength: 1024 })),
  iss: Type.Optional(Type.String({ maxLength: 2048 })),
  error: Type.Optional(Type.String({ maxLength: 256 })),
  error_description: Type.Optional(Type.String({ maxLength: 8192 })),
  error_uri: Type.Optional(Type.String({ maxLength: 2048 })),
});

export type ListAccountsQuery = Static<typeof ListAccountsQuery>;

export const AuditPageSchema = Type.Object({
  data: Type.Array(
    Type.Object({
      id: Type.String(),
      app_id: Type.Union([Type.String(), Type.Null()]),
      actor: Type.String(),
      action: Type.String(),
      subject: Type.Union([Type.String(), Type.Null()]),
      detail: Type.Record(Type.String(), Type.Unknown()),
      created_at: Type.String(),
    }),
  ),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

// ---------------------------------------------------------------------------------------------
// Responses that are not JSON, for the OpenAPI document (Fastify sends strings as they are)

/** A 200 (or other) answer that is an HTML page. */
export const htmlPage = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });

/** A 303 See Other: the browser goes on to the Location header. */
export const redirect = (description: string) => ({ description });

/** The error statuses a page route answers, each with an HTML page naming the error and a reference id. */
export function pageErrors(...statuses: number[]): Record<number, ReturnType<typeof htmlPage>> {
  return Object.fromEntries(statuses.map((status) => [status, htmlPage('An HTML page naming the error, what to do next and a reference id')]));
}

/** Who may call the app-facing API (OpenAPI security requirements). */
export const API_KEY_ONLY: Record<string, string[]>[] = [{ apiKey: [] }];
export const API_KEY_OR_TOKEN = (scope: string): Record<string, string[]>[] => [{ apiKey: [] }, { accessToken: [scope] }];

export const WebhookBody = Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false });

export const WebhookSchema = Type.Object({
  url: Type.Union([Type.String(), Type.Null()]),
  enabled: Type.Boolean(),
  created_at: Type.Union([Type.String(), Type.Null()]),
  updated_at: Type.Union([Type.String(), Type.Null()]),
});

export const WebhookSecretSchema = Type.Object({ url: Type.String(), secret: Type.String() });

const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('dead')]);
const nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);

export const DeliveryPageSchema = Type.Object({
  data: Type.Array(
    Type.Object({
      id: Type.String(),
      event_id: Type.String(),
      event_type: Type.String(),
      status: DeliveryStatus,
      attempts: Type.Integer(),
      next_attempt_at: nullable(Type.String()),
      last_status: nullable(Type.Integer()),
      last_error: nullable(Type.String()),
      delivered_at: nullable(Type.String()),
      created_at: Type.String(),
    }),
  ),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const DeliveriesQuery = Type.Object(
  {
    status: Type.Optional(DeliveryStatus),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { additionalProperties: false },
);

/** `Gatehouse-Retries` on the provider proxy. */
export const ProxyHeaders = Type.Object({
  'gatehouse-retries': Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETRIES })),
});

/** Kloudless' raw form of the proxy. */
export const RawHeaders = Type.Object({
  'x-raw-uri': Type.String({ minLength: 1, maxLength: 8192 }),
  'x-raw-method': Type.Optional(Type.Union(PROXY_METHODS.map((m) => Type.Literal(m)))),
  'gatehouse-retries': Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETRIES })),
});

export const CredentialsSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.String(),
  expires_at: Type.Union([Type.String(), Type.Null()]),
});

/** RFC 7662 §2.2: what introspection says of a token (only `active: false` for one the client may not see). */
export const IntrospectionSchema = Type.Object({
  active: Type.Boolean(),
  token_type: Type.Optional(Type.String({ description: 'Bearer (access token) or refresh_token' })),
  client_id: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  sub: Type.Optional(Type.String({ description: 'the account the token is bound to' })),
  account_id: Type.Optional(Type.String()),
});

/** What the verify endpoint (`GET /v1/oauth/token`) says of a live access token. */
export const VerificationSchema = Type.Object({
  client_id: Type.String(),
  // a type list, not anyOf: fast-json-stringify serialises anyOf by running a validator
  account_id: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  scope: Type.String(),
  expires_at: Type.String(),
});
export type Verification = Static<typeof VerificationSchema>;
