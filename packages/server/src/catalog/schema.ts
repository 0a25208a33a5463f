import { Type, type Static } from '@sinclair/typebox';

/** Where the account identity (id, email, display name) is read from after a connect. */
export const IdentitySchema = Type.Object(
  {
    source: Type.Union([Type.Literal('id_token'), Type.Literal('userinfo'), Type.Literal('profile')], {
      description:
        'id_token: claims of the validated ID token; userinfo: the OIDC userinfo endpoint; profile: a provider API endpoint (url)',
    }),
    url: Type.Optional(Type.String({ description: 'profile endpoint (source "profile"); may use {placeholders}' })),
    method: Type.Optional(Type.Union([Type.Literal('GET'), Type.Literal('POST')])),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    id: Type.String({ description: 'dot path of the stable upstream subject, e.g. "sub" or "account_id"' }),
    email: Type.Optional(Type.String({ description: 'dot path of the email' })),
    name: Type.Optional(Type.String({ description: 'dot path of the display name' })),
  },
  { additionalProperties: false },
);

export const CATEGORIES = [
  'storage',
  'calendar',
  'email',
  'contacts',
  'crm',
  'code',
  'chat',
  'project',
  'docs',
  'design',
  'accounting',
  'commerce',
  'marketing',
  'video',
  'music',
  'social',
  'identity',
  'sandbox',
] as const;

const extraTokenTypesSchema = Type.Optional(
  Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]*$' }), {
    description: 'token_type values besides bearer the provider answers with, e.g. Slack\'s "bot"',
  }),
);

export const ProviderEntrySchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'equals the file name without .json' }),
    name: Type.String({ minLength: 1 }),
    categories: Type.Array(Type.Union(CATEGORIES.map((c) => Type.Literal(c))), { minItems: 1 }),
    aliases: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$' }), {
        description: 'short service names usable in scopes, e.g. "gdrive"',
      }),
    ),
    docsUrl: Type.Optional(Type.String()),
    issuer: Type.Optional(
      Type.String({ description: 'OIDC issuer; endpoints not given below are read by discovery' }),
    ),
    authorizationUrl: Type.Optional(Type.String()),
    tokenUrl: Type.Optional(Type.String()),
    revocationUrl: Type.Optional(Type.String()),
    userinfoUrl: Type.Optional(Type.String()),
    scopes: Type.Object(
      {
        default: Type.Array(Type.String()),
        descriptions: Type.Optional(Type.Record(Type.String(), Type.String())),
      },
      { additionalProperties: false },
    ),
    scopeSeparator: Type.Optional(Type.String({ minLength: 1, maxLength: 1, default: ' ' })),
    pkce: Type.Boolean({ description: 'send an S256 code_challenge' }),
    tokenEndpointAuthMethod: Type.Union([
      Type.Literal('client_secret_basic'),
      Type.Literal('client_secret_post'),
    ]),
    authorizationParams: Type.Optional(Type.Record(Type.String(), Type.String())),
    identity: IdentitySchema,
    proxy: Type.Optional(
      Type.Object(
        {
          baseUrl: Type.String({ description: 'every proxied call goes below this URL; may use {placeholders}' }),
        },
        { additionalProperties: false },
      ),
    ),
    templateParams: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z][a-zA-Z0-9_]*$' }), {
        description: 'placeholders such as "subdomain" used as {subdomain} in the URLs',
      }),
    ),
    extraTokenTypes: extraTokenTypesSchema,
    refreshMarginSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    hooks: Type.Optional(
      Type.Object(
        {
          revoke: Type.Optional(Type.String({ description: 'name of a revoke hook in connect/hooks' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type ProviderEntry = Static<typeof ProviderEntrySchema>;
export type IdentityRule = Static<typeof IdentitySchema>;
export type Category = (typeof CATEGORIES)[number];
