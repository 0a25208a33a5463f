import { STATUS_CODES } from 'node:http';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { rateLimitGroupOf } from './limits.ts';

/**
 * OpenAPI 3.1 from the routes themselves: every route's TypeBox schemas (params, querystring,
 * body, each response status) plus the few keys @fastify/swagger made conventional in a route's
 * `schema` (`summary`, `description`, `tags`, `security`, `consumes`, `hide`). Fastify ignores
 * those; this module reads them. Errors the framework answers on any route (validation, body
 * limits, rate limits, 500) are added here, so a route declares only its own.
 * @see https://spec.openapis.org/oas/v3.1.0
 */

/** What a route may add to its `schema` for the document. */
declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
    /** OpenAPI security requirements, naming the schemes in SECURITY_SCHEMES. */
    security?: Record<string, string[]>[];
    /** Request body media types; default application/json. */
    consumes?: string[];
    /** Left out of the document. */
    hide?: boolean;
  }
}

export const SECURITY_SCHEMES = {
  apiKey: { type: 'http', scheme: 'bearer', description: "The app's API key, `ghk_…` (`gatehouse apps create` prints it once)." },
  accessToken: { type: 'http', scheme: 'bearer', description: 'A Gatehouse access token, `gha_…`, within its scope.' },
  clientSecretBasic: { type: 'http', scheme: 'basic', description: 'client_id and client_secret (RFC 6749 §2.3.1); client_secret_post and none go in the form.' },
  metricsToken: { type: 'http', scheme: 'bearer', description: 'GATEHOUSE_METRICS_TOKEN, when set.' },
} as const;

const OPERATION_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete', 'options']);
const ERROR_REF = { $ref: '#/components/schemas/Error' };
/** Answered by Node's parser before any route runs (a request too slow to arrive, headers over 16 KiB): JSON even on pages. */
const PARSER_STATUSES = ['408', '431'];
const HTML = { 'text/html': { schema: { type: 'string' } } };

type Json = Record<string, unknown>;
export interface DocumentedRoute {
  method: string;
  url: string;
  schema: RouteOptions['schema'];
  config: { page?: boolean } | undefined;
}

const collected = new WeakMap<FastifyInstance, DocumentedRoute[]>();

/** Every route registered on an app built by buildApp, one entry per method, as its onRoute hook saw them. */
export function registeredRoutes(app: FastifyInstance): DocumentedRoute[] {
  return collected.get(app) ?? [];
}

/** Records every route as it is registered; call first thing on the root instance. */
export function collectRoutes(app: FastifyInstance): DocumentedRoute[] {
  const routes: DocumentedRoute[] = [];
  collected.set(app, routes);
  app.addHook('onRoute', (options) => {
    for (const method of ([] as string[]).concat(options.method)) {
      // read lazily: a plugin's own onRoute hook may still add to the schema after this one
      routes.push({
        method,
        url: options.url,
        get schema() {
          return options.schema;
        },
        config: options.config as DocumentedRoute['config'],
      });
    }
  });
  return routes;
}

/** `/v1/accounts/:id/proxy/*` → `/v1/accounts/{id}/proxy/{path}`; a parameter's regexp is dropped. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)(\([^/]*\))?/g, '{$1}').replace(/\*$/, '{path}');
}

/** A schema as OpenAPI embeds it: a named one (TypeBox `$id`) becomes a `$ref` into components. */
function embed(schema: unknown, components: Json): unknown {
  if (Array.isArray(schema)) return schema.map((s) => embed(s, components));
  if (!schema || typeof schema !== 'object') return schema;
  const { $id, ...rest } = schema as Json;
  const out: Json = {};
  for (const [key, value] of Object.entries(rest)) out[key] = embed(value, components);
  if (typeof $id === 'string') {
    components[$id] ??= out;
    return { $ref: `#/components/schemas/${$id}` };
  }
  return out;
}

function parametersOf(route: DocumentedRoute, components: Json): Json[] {
  const parameters: Json[] = [];
  const add = (where: 'path' | 'query' | 'header', schema: unknown) => {
    const object = schema as { properties?: Json; required?: string[] } | undefined;
    for (const [name, property] of Object.entries(object?.properties ?? {})) {
      const described = property as { description?: string };
      parameters.push({
        name: where === 'path' && name === '*' ? 'path' : name,
        in: where,
        required: where === 'path' || (object?.required ?? []).includes(name),
        ...(described.description ? { description: described.description } : {}),
        schema: embed(property, components),
      });
    }
  };
  add('path', route.schema?.params);
  add('query', route.schema?.querystring);
  add('header', route.schema?.headers);
  // a path parameter the route left without a schema is still a parameter
  for (const match of openApiPath(route.url).matchAll(/\{([^}]+)\}/g)) {
    if (!parameters.some((p) => p.in === 'path' && p.name === match[1])) {
      parameters.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
    }
  }
  return parameters;
}

function describe(status: string, page: boolean): string {
  const text = STATUS_CODES[Number(status)] ?? 'Answer';
  if (Number(status) < 400) return text;
  return page ? `${text}: an HTML page naming the error and a reference id` : `${text}: \`{error, error_description}\` (RFC 6749 §5.2)`;
}

/** One declared response: a bare JSON schema, or an OpenAPI-style `{description, content}`. */
function responseOf(status: string, declared: unknown, page: boolean, components: Json): Json {
  const object = (declared ?? {}) as Json;
  const response: Json = { description: typeof object.description === 'string' ? object.description : describe(status, page) };
  if (object.content && typeof object.content === 'object') {
    response.content = embed(object.content, components);
  } else if (Object.keys(object).some((key) => key !== 'description')) {
    response.content = { 'application/json': { schema: embed(declared, components) } };
  }
  return response;
}

/** The headers an answer of this status always carries. */
function headersOf(status: string): Json | undefined {
  if (Number(status) >= 300 && Number(status) < 400) return { Location: { description: 'Where the browser goes next', schema: { type: 'string' } } };
  if (status === '429') return { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } };
  if (status === '401') return { 'WWW-Authenticate': { description: 'The scheme to use (RFC 6750 / RFC 7617)', schema: { type: 'string' } } };
  return undefined;
}

/** The statuses any route may answer besides its own: bad URL or validation, body limits, auth, rate limits, 500. */
function frameworkStatuses(route: DocumentedRoute, method: string): string[] {
  // 400: besides a schema's validation, a URL that is not valid (bad escapes) is refused before
  // routing; 408 and 431 come from Node's HTTP parser (see PARSER_STATUSES)
  const statuses = ['400', ...PARSER_STATUSES, '500'];
  const schema = route.schema ?? {};
  if (BODY_METHODS.has(method)) statuses.push('413', '415');
  if (schema.security?.some((requirement) => Object.keys(requirement).length > 0)) statuses.push('401');
  if (rateLimitGroupOf(route.url)) statuses.push('429');
  return statuses;
}

function operationOf(route: DocumentedRoute, method: string, components: Json): Json {
  const schema = route.schema ?? {};
  const page = route.config?.page === true;
  const responses: Json = {};
  for (const [status, declared] of Object.entries((schema.response ?? {}) as Json)) {
    // Fastify's '2xx' is OpenAPI's '2XX'; 'default' (any other status, e.g. a proxied answer) is the same in both
    const key = /^[1-5]xx$/i.test(status) ? status.toUpperCase() : status;
    responses[key] = responseOf(key, declared, page, components);
  }
  for (const status of frameworkStatuses(route, method)) {
    responses[status] ??= page && !PARSER_STATUSES.includes(status)
      ? { description: describe(status, true), content: HTML }
      : { description: describe(status, false), content: { 'application/json': { schema: ERROR_REF } } };
  }
  for (const [status, response] of Object.entries(responses)) {
    const headers = headersOf(status);
    if (headers) (response as Json).headers = headers;
  }
  const operation: Json = {
    operationId: `${method}${openApiPath(route.url).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: schema.summary ?? `${method.toUpperCase()} ${route.url}`,
    ...(schema.description ? { description: schema.description } : {}),
    tags: schema.tags ?? [route.url.split('/')[1] || 'root'],
    parameters: parametersOf(route, components),
    responses,
  };
  if (schema.security) operation.security = schema.security;
  if (schema.body) {
    const body = embed(schema.body, components);
    operation.requestBody = {
      required: true,
      content: Object.fromEntries((schema.consumes ?? ['application/json']).map((type) => [type, { schema: body }])),
    };
  } else if (schema.consumes && BODY_METHODS.has(method)) {
    // a body taken as it comes (e.g. passed on to a provider)
    operation.requestBody = { required: false, content: Object.fromEntries(schema.consumes.map((type) => [type, {}])) };
  }
  return operation;
}

/** The OpenAPI 3.1 document of the collected routes. Fastify's automatic HEAD twins of GET routes are left out. */
export function openApiDocument(routes: DocumentedRoute[], info: { baseUrl: string; version: string }): Json {
  const components: Json = {
    Error: {
      type: 'object',
      required: ['error', 'error_description'],
      properties: { error: { type: 'string' }, error_description: { type: 'string' } },
      description: 'RFC 6749 §5.2 error body',
    },
  };
  const paths: Record<string, Json> = {};
  const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
  for (const route of routes) {
    const method = route.method.toLowerCase();
    if (route.schema?.hide || !OPERATION_METHODS.has(method)) continue;
    if (method === 'head' && gets.has(route.url)) continue;
    const path = openApiPath(route.url);
    (paths[path] ??= {})[method] = operationOf(route, method, components);
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse',
      version: info.version,
      description: 'Self-hosted OAuth account-connection server: the authorization server for apps, the upstream connect flow and the accounts API.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: info.baseUrl }],
    paths: sorted,
    components: { schemas: components, securitySchemes: SECURITY_SCHEMES },
  };
}
